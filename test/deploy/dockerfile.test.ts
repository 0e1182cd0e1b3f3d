/**
 * The Dockerfile, proven without a Docker engine (none exists on our machines or CI): its steps
 * are replayed in a scratch folder, one folder per stage as that stage's filesystem root. COPY
 * copies exactly what Docker would (the build context minus .dockerignore, or another stage's
 * files), RUN runs the same command there, with the stage's ENV, in its WORKDIR. A RUN that needs
 * a file not copied yet fails here as it would in `docker build` (main's Dockerfile ran `npm ci`,
 * whose postinstall `prisma generate` needs prisma/, before copying it). Then the final stage is
 * checked: an unprivileged USER, production dependencies only, and its ENTRYPOINT migrates a fresh
 * database and prints the CLI's help. npm reads its local cache first (npm_config_prefer_offline).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSql, testDatabaseUrl } from '../support/db.ts';
import { contextFiles, dockerignore, inStage, replay, run, type Stage } from '../support/dockerfile.ts';

const repo = join(import.meta.dirname, '..', '..');

describe('the Dockerfile builds (replayed step by step without a Docker engine)', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'wxsync-docker-'));
  const database = `wxsync_docker_${process.pid}`;
  let stages: Stage[];
  let final: Stage;

  beforeAll(async () => {
    stages = await replay(join(repo, 'Dockerfile'), repo, scratch);
    final = stages.at(-1)!;
    await adminSql(`CREATE DATABASE ${database}`);
  }, 300_000);

  afterAll(async () => {
    rmSync(scratch, { recursive: true, force: true });
    await adminSql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });

  const entrypoint = (args: string[], env: Record<string, string> = {}) => {
    const [cmd, ...rest] = [...final.entrypoint, ...args];
    return run(cmd!, rest, {
      cwd: inStage(final, '.'),
      // Only the image's own environment (plus PATH): nothing of the test's settings leaks in.
      env: { PATH: process.env.PATH ?? '', HOME: scratch, ...final.env, ...env },
      timeout: 120_000,
    });
  };

  it('is multi-stage and runs as an unprivileged user', () => {
    expect(stages.length).toBeGreaterThan(1);
    expect(['', 'root', '0']).not.toContain(final.user.split(':')[0]);
    expect(final.env.NODE_ENV).toBe('production');
  });

  it('ships production dependencies only, with the Prisma client generated', async () => {
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const modules = inStage(final, 'node_modules');
    // The lockfile marks every package only development needs (`dev: true`); a devDependency that a
    // production one needs too (adapter-pg -> @types/pg -> @types/node) is not marked and may ship.
    const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const devOnly = Object.entries(lock.packages)
      .filter(([path, entry]) => entry.dev === true && path.startsWith('node_modules/'))
      .map(([path]) => path);
    expect(devOnly).toEqual(
      expect.arrayContaining(
        ['vitest', 'vite', '@biomejs/biome', 'playwright-core', 'autocannon'].map((n) => `node_modules/${n}`),
      ),
    );
    const shipped = devOnly.filter((path) => existsSync(inStage(final, path)));
    expect(shipped).toEqual([]);
    for (const dep of Object.keys(pkg.dependencies)) expect(existsSync(join(modules, dep)), dep).toBe(true);
    expect(existsSync(inStage(final, 'src/generated/prisma'))).toBe(true);
    // No secret or local state reached the image.
    const all = contextFiles(final.root, (p) => p.endsWith('/node_modules'));
    expect([...all].filter((f) => /(^|\/)\.env/.test(f))).toEqual([]);
  });

  it("the image's entrypoint migrates a fresh database and runs the CLI", async () => {
    const migrated = await entrypoint(['db', 'migrate'], { DATABASE_URL: testDatabaseUrl(database) });
    expect(`${migrated.stdout}${migrated.stderr}`).toMatch(/migrat/i);
    const help = await entrypoint(['--help']);
    expect(help.stdout).toMatch(/serve/);
    expect(help.stdout).toMatch(/worker/);
    expect(final.cmd).toEqual(['serve']);
  });

  it('.dockerignore keeps every .env file (and local state) out of the build context', () => {
    const ignored = dockerignore(readFileSync(join(repo, '.dockerignore'), 'utf8'));
    for (const path of [
      '.env',
      '.env.local',
      '.env.production',
      '.env.example',
      'config/.env',
      '.git/config',
    ]) {
      expect(ignored(path), path).toBe(true);
    }
    for (const path of ['package.json', 'src/cli.ts', 'prisma/schema.prisma'])
      expect(ignored(path), path).toBe(false);
  });
});
