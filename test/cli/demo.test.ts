/**
 * `wxsync demo` as a new user runs it: the real binary in a child process, against real
 * PostgreSQL and Redis, on a database that does not exist yet (the create-if-missing path).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createDb } from '../../src/db/client.ts';
import { loadPanel, PANEL_NAMES, panelDefinition } from '../../src/ops/dashboard.ts';
import { adminSql, freshDatabase, testDatabaseUrl } from '../support/db.ts';
import { TEST_REDIS_URL, TEST_WECHAT } from '../support/env.ts';

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function demo(args: string[], env: Record<string, string>): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/wxsync.mjs', 'demo', '--no-keep-running', ...args], {
      // Only what a user's shell would carry: no test credentials, no .env values leaking in.
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        REDIS_URL: TEST_REDIS_URL,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A 100-follower demo on its own queue prefix. */
const smallDemo = (env: Record<string, string>) =>
  demo(['--followers', '100', '--queue-prefix', `t-demo-${randomBytes(4).toString('hex')}`], env);

/** A port nothing listens on (bound once, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const stackLine = /^\s+at\s/m;

/** Exit 1 with one line on stderr matching `reason` and naming the command that starts the services; no stack. */
function expectOneLineRefusal(ran: Ran, reason: RegExp) {
  expect(ran.code).toBe(1);
  const lines = ran.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(reason);
  expect(lines[0]).toContain('docker compose up -d postgres redis');
  expect(ran.stderr).not.toMatch(stackLine);
}
const drops: string[] = [];

afterAll(async () => {
  for (const name of drops) await adminSql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
});

describe('wxsync demo', () => {
  it('creates its database, mirrors 3,000 followers, applies a push burst and says the mirror matches', async () => {
    const name = `wxsync_t_demo_${randomBytes(4).toString('hex')}`;
    drops.push(name);
    const url = testDatabaseUrl(name);
    const prefix = `t-demo-${randomBytes(4).toString('hex')}`;
    const ran = await demo(['--followers', '3000', '--queue-prefix', prefix], {
      DATABASE_URL: url,
      PORT: '0',
    });
    expect(ran.stderr).not.toMatch(stackLine);
    expect(ran.code, ran.stdout + ran.stderr).toBe(0);

    const out = ran.stdout;
    expect(out).toContain(`/${name} (created)`);
    // 3,000 + 200 subscribed - 50 left = 3,150 following, on both sides.
    expect(out).toMatch(/followers\s+stored 3,150 = platform 3,150\s+match/);
    expect(out).toMatch(/subscribed\s+200 of 200 new followers stored/);
    expect(out).toMatch(/unsubscribed 50 of 50 leavers flagged/);
    expect(out).toMatch(/blacklist\s+stored 500 = platform 500\s+match/);
    expect(out).toMatch(
      /events\s+250 accepted, 20 duplicates dropped .*, 0 rejected; 250 recorded, 250 applied/,
    );
    expect(out).toMatch(/user_cumulate 60 days, user_summary 60 days .* publisher 60 days/);
    expect(out).toMatch(/result\s+the mirror matches the platform/);
    expect(out).toMatch(/dashboard\s+.*http:\/\/127\.0\.0\.1:\d+\/admin\//);

    // The database holds the mirror the summary describes.
    const db = createDb(url, { poolSize: 2 });
    try {
      expect(await db.follower.count({ where: { subscribe: true } })).toBe(3_150);
      expect(await db.follower.count({ where: { subscribe: false, unsubscribedAt: { not: null } } })).toBe(
        50,
      );
      expect(await db.blacklistEntry.count({ where: { removedAt: null } })).toBe(500);
      expect(await db.userCumulate.count()).toBe(60);
      expect(await db.followerEvent.count({ where: { processedAt: { not: null } } })).toBe(250);
      const runs = await db.syncRun.findMany({ select: { job: true, trigger: true, status: true } });
      expect(runs.map((r) => r.job).sort()).toEqual(['blacklist', 'datacube', 'followers', 'publisher']);
      expect(runs.every((r) => r.trigger === 'demo' && r.status === 'succeeded')).toBe(true);

      // What `npm start -- --keep-running` shows: the demo's data fills every dashboard panel.
      const config = loadConfig({ ...TEST_WECHAT, DATABASE_URL: url });
      const panels = Object.fromEntries(
        await Promise.all(
          PANEL_NAMES.map(
            async (name) => [name, await loadPanel({ db, config }, panelDefinition(name)!, {})] as const,
          ),
        ),
      );
      for (const name of PANEL_NAMES) expect(panels[name]!.empty, name).toBe(false);
      expect(panels.headline).toMatchObject({
        followers_now: { value: 3_150 },
        today: { new: 200, left: 50, net: 150 },
        yesterday: { available: true },
      });
      expect(panels.growth!.rows.length).toBeGreaterThanOrEqual(30);
      expect(panels.pipes!.rows.map((r) => r.status)).toEqual([
        'succeeded',
        'succeeded',
        'succeeded',
        'succeeded',
      ]);
    } finally {
      await db.$disconnect();
    }
    // Nothing of the demo is left in Redis.
    const redis = new Redis(TEST_REDIS_URL);
    try {
      expect(await redis.keys(`${prefix}:*`)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  }, 240_000);

  it('PostgreSQL unreachable: one line naming it and the command that starts it, exit 1', async () => {
    const port = await closedPort();
    const ran = await smallDemo({
      DATABASE_URL: `postgresql://root@127.0.0.1:${port}/wxsync_demo`,
    });
    expect(ran.stdout).toBe('');
    expectOneLineRefusal(ran, /PostgreSQL is not reachable/);
  });

  it('Redis unreachable: one line naming it, exit 1', async () => {
    const port = await closedPort();
    const ran = await smallDemo({
      DATABASE_URL: testDatabaseUrl('postgres'),
      REDIS_URL: `redis://127.0.0.1:${port}`,
    });
    expectOneLineRefusal(ran, /Redis is not reachable/);
  });

  it('refuses a database that holds a real mirror and writes nothing into it', async () => {
    const database = await freshDatabase();
    try {
      await database.db.syncRun.create({
        data: { job: 'followers', trigger: 'schedule', status: 'succeeded' },
      });
      const ran = await smallDemo({ DATABASE_URL: database.url });
      expect(ran.code).toBe(1);
      expect(ran.stderr.trim().split('\n')).toHaveLength(1);
      expect(ran.stderr).toMatch(/holds a real mirror/);
      expect(await database.db.follower.count()).toBe(0);
      expect(await database.db.syncRun.count()).toBe(1);
    } finally {
      await database.drop();
    }
  });
});
