/**
 * `wxsync serve` + `wxsync worker` as real processes against the fake platform: a pushed subscribe
 * becomes a followers row; SIGTERM stops both cleanly (exit code 0).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeWeChat, startFakeWeChat } from '../../src/fake-wechat/index.ts';
import { QUEUE_NAMES } from '../../src/queues.ts';
import { createRedis } from '../../src/redis.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';
import { TEST_REDIS_URL, TEST_WECHAT } from '../support/env.ts';

const prefix = `t-cli-${randomBytes(4).toString('hex')}`;
let tdb: TestDatabase;
let fake: FakeWeChat;
const children: ChildProcess[] = [];

function run(args: string[], env: Record<string, string>): { child: ChildProcess; lines: string[] } {
  const child = spawn(process.execPath, ['bin/wxsync.mjs', ...args], {
    env: { ...process.env, ...env, CI: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: string[] = [];
  let buffer = '';
  const collect = (data: Buffer) => {
    buffer += data.toString('utf8');
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    lines.push(...parts);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  return { child, lines };
}

async function waitFor<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  what: string,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });

beforeAll(async () => {
  tdb = await freshDatabase();
  fake = await startFakeWeChat({
    followers: 5,
    token: TEST_WECHAT.WECHAT_TOKEN,
    encodingAesKey: TEST_WECHAT.WECHAT_ENCODING_AES_KEY,
  });
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
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
    const url = await waitFor(() => {
      for (const line of serve.lines) {
        if (line.includes('wxsync server listening')) return JSON.parse(line).url as string;
      }
      return undefined;
    }, 'serve to listen');
    await waitFor(
      () => (worker.lines.some((l) => l.includes('events worker started')) ? true : undefined),
      'worker',
    );

    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    fake.push.configure({ callbackUrl: `${url}/wx`, mode: 'safe' });
    const pushed = await fake.push.newFollower({ qrScene: 'spring' });
    expect(pushed.body).toBe('success');
    const row = await waitFor(
      async () => (await tdb.db.follower.findUnique({ where: { openid: pushed.openid } })) ?? undefined,
      'the follower row',
    );
    expect(row.subscribe).toBe(true);
    expect(row.nickname).toBe(fake.state.profile(pushed.openid).nickname ?? null);

    serve.child.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    expect(await exited(serve.child)).toBe(0);
    expect(await exited(worker.child)).toBe(0);
    const all = [...serve.lines, ...worker.lines].join('\n');
    expect(all).toContain('shutting down gracefully');
    expect(all).not.toContain(TEST_WECHAT.WECHAT_APP_SECRET);
    expect(all).not.toContain(TEST_WECHAT.WECHAT_ENCODING_AES_KEY);
  });
});
