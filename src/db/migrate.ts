import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

const prismaCli = createRequire(import.meta.url).resolve('prisma/build/index.js');

/**
 * Runs a Prisma CLI command (e.g. `migrate deploy`) against `databaseUrl` with the project's
 * prisma.config.ts (JS schema engine: no native engine download). Resolves with the exit code.
 */
export function runPrisma(
  args: string[],
  databaseUrl: string,
  options: { quiet?: boolean } = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [prismaCli, ...args], {
      env: { ...process.env, DATABASE_URL: databaseUrl, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
      stdio: options.quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    });
    let output = '';
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0 && options.quiet) process.stderr.write(output);
      resolve(code ?? 1);
    });
  });
}

/** Applies every pending migration; a database already up to date is left untouched. */
export async function migrateDeploy(databaseUrl: string, options: { quiet?: boolean } = {}): Promise<void> {
  const code = await runPrisma(['migrate', 'deploy'], databaseUrl, options);
  if (code !== 0) throw new Error(`prisma migrate deploy failed (exit ${code})`);
}
