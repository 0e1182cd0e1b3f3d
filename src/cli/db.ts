import type { Command } from 'commander';
import { ConfigSchema, loadConfig } from '../config.ts';
import { migrateDeploy, runPrisma } from '../db/migrate.ts';

const DbConfig = ConfigSchema.pick({ DATABASE_URL: true });

export function registerDbCommands(program: Command): void {
  const db = program.command('db').description('database schema: migrations and status');
  db.command('migrate')
    .description('apply pending migrations to DATABASE_URL (idempotent)')
    .action(async () => {
      await migrateDeploy(loadConfig(process.env, DbConfig).DATABASE_URL);
    });
  db.command('status')
    .description('show which migrations are applied')
    .action(async () => {
      process.exitCode = await runPrisma(
        ['migrate', 'status'],
        loadConfig(process.env, DbConfig).DATABASE_URL,
      );
    });
}
