import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ConfigSchema, loadConfig } from '../config.ts';
import { createDb } from '../db/client.ts';
import { readDictionary, renderDictionary } from '../db/dictionary.ts';
import { migrateDeploy, runPrisma } from '../db/migrate.ts';

const DbConfig = ConfigSchema.pick({ DATABASE_URL: true });

export function registerDbCommands(program: Command): void {
  const db = program.command('db').description('database schema: migrations, status and data dictionary');
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
  db.command('docs')
    .description('print the data dictionary (every table, view and function with its comments) as Markdown')
    .option('--out <file>', 'write it to a file instead (docs/warehouse.md is generated this way)')
    .action(async (options: { out?: string }) => {
      const client = createDb(loadConfig(process.env, DbConfig).DATABASE_URL, { poolSize: 1 });
      try {
        const markdown = renderDictionary(await readDictionary(client));
        if (options.out) writeFileSync(options.out, markdown);
        else process.stdout.write(markdown);
      } finally {
        await client.$disconnect();
      }
    });
}
