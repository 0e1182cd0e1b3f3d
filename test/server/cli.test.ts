/**
 * `wxsync serve` + `wxsync worker` as real processes against the fake platform: a pushed subscribe
 * becomes a followers row; SIGTERM stops both cleanly (exit code 0).
 */
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeWeChat } from '../../src/fake-wechat/index.ts';
import { QUEUE_NAMES } from '../../src/queues.ts';
import { createRedis } from '../../src/redis.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';
import { TEST_REDIS_URL, TEST_WECHAT } from '../support/env.ts';
import { startAccountFake } from '../support/fake-wechat.ts';
import { eventually, killAllChildren, type Spawned, spawnNode } from '../support/processes.ts';

const prefix = `t-cli-${randomBytes(4).toString('hex')}`;
let tdb: TestDatabase;
let fake: FakeWeChat;

/** `wxsync <args>` as a child process (CI=1: JSON log lines, never pretty-printed). */
const run = (args: string[], env: Record<string, string>): Spawned =>
  spawnNode(['bin/wxsync.mjs', ...args], { ...process.env, ...env, CI: '1' });

beforeAll(async () => {
  tdb = await freshDatabase();
  fake = await startAccountFake({ followers: 5 });
});

afterAll(async () => {
  await killAllChildren();
  const redis = createRedis(TEST_REDIS_URL, 'service');
  const queue = new Queue(QUEUE_NAMES.events, { connection: redis, prefix });
  await queue.obliterate({ force: true });
  await queue.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  await fake?.close();
  await tdb?.drop();
});

describe('wxsync serve + wxsync worker', () => {
  it('turn a pushed safe-mode subscribe into a follower row, and stop on SIGTERM', async () => {
    const env = {
      ...TEST_WECHAT,
      DATABASE_URL: tdb.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      WECHAT_API_BASE: fake.url,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      ADMIN_TOKEN: '',
      // Only the events path is under test here; no cron schedules.
      SCHEDULER_ENABLED: 'false',
    };
    const serve = run(['serve'], env);
    const worker = run(['worker', '--concurrency', '2'], env);
    const url = await eventually(() => {
      for (const line of serve.lines()) {
        if (line.includes('wxsync server listening')) return JSON.parse(line).url as string;
      }
      return undefined;
    }, 'serve to listen');
    await eventually(() => worker.lines().some((l) => l.includes('events worker started')), 'worker');

    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    fake.push.configure({ callbackUrl: `${url}/wx`, mode: 'safe' });
    const pushed = await fake.push.newFollower({ qrScene: 'spring' });
    expect(pushed.body).toBe('success');
    const row = await eventually(
      () => tdb.db.follower.findUnique({ where: { openid: pushed.openid } }),
      'the follower row',
    );
    expect(row.subscribe).toBe(true);
    expect(row.nickname).toBe(fake.state.profile(pushed.openid).nickname ?? null);

    serve.child.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    expect(await serve.exit).toBe(0);
    expect(await worker.exit).toBe(0);
    const all = [...serve.lines(), ...worker.lines()].join('\n');
    expect(all).toContain('shutting down gracefully');
    expect(all).not.toContain(TEST_WECHAT.WECHAT_APP_SECRET);
    expect(all).not.toContain(TEST_WECHAT.WECHAT_ENCODING_AES_KEY);
  });
});
