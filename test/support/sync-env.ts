/**
 * One sync test environment per test file: a fresh migrated database, the fake platform over real
 * HTTP, a random Redis prefix (cleaned up), a WeChat client pointed at the fake and the deps the
 * jobs take, extra Redis connections for queues and workers, and the real CLI in a child process.
 * Logs are captured so tests can assert warnings.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { SyncDeps } from '../../jobs/types.ts';
import { type FakeWeChat, type FakeWeChatOptions, startFakeWeChat } from '../../src/fake-wechat/index.ts';
import type { Log } from '../../src/logger.ts';
import { WeChatClient, type WeChatClientOptions } from '../../src/wechat/client.ts';
import { freshDatabase, type TestDatabase } from './db.ts';
import { TEST_REDIS_URL, TEST_WECHAT } from './env.ts';
import { spawnNode } from './processes.ts';

export interface SyncTestEnv {
  t: TestDatabase;
  fake: FakeWeChat;
  redis: Redis;
  prefix: string;
  log: Log;
  /** Log lines (parsed JSON) written so far. */
  logs: Record<string, unknown>[];
  wechat: WeChatClient;
  deps: SyncDeps;
  /** Environment for a child process running the real CLI against this setup. */
  childEnv(extra?: Record<string, string>): NodeJS.ProcessEnv;
  /** `wxsync <args>` (bin/wxsync.mjs) in a child process with childEnv(extra): exit code, stdout + stderr. */
  cli(args: string[], extra?: Record<string, string>): Promise<{ code: number | null; output: string }>;
  /**
   * Another connection to the test Redis (queues, job followers, workers), closed by close(). A
   * worker's never gives up on a command (BullMQ requires `maxRetriesPerRequest: null` there).
   */
  connection(opts?: { worker?: boolean }): Redis;
  close(): Promise<void>;
}

export async function syncTestEnv(
  fakeOptions: FakeWeChatOptions,
  depsOverrides: Partial<SyncDeps> = {},
  clientOverrides: Partial<WeChatClientOptions> = {},
): Promise<SyncTestEnv> {
  const t = await freshDatabase();
  const fake = await startFakeWeChat({
    appId: TEST_WECHAT.WECHAT_APP_ID,
    appSecret: TEST_WECHAT.WECHAT_APP_SECRET,
    ...fakeOptions,
  });
  const prefix = `wxt${randomBytes(4).toString('hex')}`;
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 3 });
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line));
      done();
    },
  });
  const log = pino({ level: 'info' }, sink);
  const wechat = new WeChatClient({
    appId: TEST_WECHAT.WECHAT_APP_ID,
    appSecret: TEST_WECHAT.WECHAT_APP_SECRET,
    apiBase: fake.url,
    redis,
    log,
    keyPrefix: prefix,
    maxAttempts: 10,
    backoffBaseMs: 5,
    backoffMaxMs: 40,
    ...clientOverrides,
  });
  const deps: SyncDeps = {
    db: t.db,
    redis,
    log,
    wechat,
    config: {
      QUEUE_PREFIX: prefix,
      SYNC_BATCH_CONCURRENCY: 4,
      SYNC_LOCK_TTL_S: 2,
      WECHAT_QUOTA_HEADROOM: 0.1,
    },
    ...depsOverrides,
  };
  const connections: Redis[] = [];
  const childEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    ...process.env,
    ...TEST_WECHAT,
    DATABASE_URL: t.url,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    WECHAT_API_BASE: fake.url,
    LOG_LEVEL: 'silent',
    SYNC_LOCK_TTL_S: '2',
    SYNC_BATCH_CONCURRENCY: '2',
    SCHEDULER_ENABLED: 'false',
    ...extra,
  });
  return {
    t,
    fake,
    redis,
    prefix,
    log,
    logs,
    wechat,
    deps,
    childEnv,
    async cli(args, extra) {
      const child = spawnNode(['bin/wxsync.mjs', ...args], childEnv(extra));
      const code = await child.exit;
      return { code, output: child.output() };
    },
    connection({ worker = false } = {}) {
      const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: worker ? null : 3 });
      connections.push(connection);
      return connection;
    },
    async close() {
      for (const connection of connections) await connection.quit();
      wechat.close();
      await fake.close();
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
      await t.drop();
    },
  };
}
