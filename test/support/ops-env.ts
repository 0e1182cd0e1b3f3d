/**
 * One operator-surface test environment: a fresh database, the fake WeChat platform over real
 * HTTP, a random Redis prefix (token store, queues) and the real app from createApp with the
 * operator routes mounted. `close()` obliterates the queues, deletes the prefix's keys and drops
 * the database.
 */
import { randomBytes } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Hono } from 'hono';
import { type Config, loadConfig } from '../../src/config.ts';
import { type FakeWeChat, type FakeWeChatOptions, startFakeWeChat } from '../../src/fake-wechat/index.ts';
import { createLogger } from '../../src/logger.ts';
import type { OpsDeps } from '../../src/ops/deps.ts';
import { openQueue, QUEUE_NAMES } from '../../src/queues.ts';
import { createRedis } from '../../src/redis.ts';
import { operatorRoutes } from '../../src/server/admin/index.ts';
import { type AppEnv, createApp } from '../../src/server/app.ts';
import { createWeChatClient } from '../../src/wechat/client.ts';
import { freshDatabase, type TestDatabase } from './db.ts';
import { TEST_REDIS_URL, TEST_WECHAT } from './env.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

export interface OpsTestEnv {
  app: Hono<AppEnv>;
  deps: OpsDeps;
  config: Config;
  fake: FakeWeChat;
  database: TestDatabase;
  prefix: string;
  queues: Queue[];
  close(): Promise<void>;
}

export async function opsTestEnv(
  options: { adminToken?: string | null; fake?: FakeWeChatOptions; env?: Record<string, string> } = {},
): Promise<OpsTestEnv> {
  const database = await freshDatabase();
  const fake = await startFakeWeChat({
    followers: 60,
    blacklist: 3,
    statsDays: 10,
    seed: 5,
    ...options.fake,
  });
  const prefix = `t-ops-${randomBytes(4).toString('hex')}`;
  const adminToken = options.adminToken === undefined ? ADMIN_TOKEN : options.adminToken;
  const config = loadConfig({
    ...TEST_WECHAT,
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    WECHAT_API_BASE: fake.url,
    WECHAT_MAX_ATTEMPTS: '2',
    LOG_LEVEL: 'silent',
    ...(adminToken ? { ADMIN_TOKEN: adminToken } : {}),
    ...options.env,
  });
  const log = createLogger('silent', { pretty: false });
  const redis = createRedis(TEST_REDIS_URL, 'service', 'wxsync-test-ops');
  const requestRedis = createRedis(TEST_REDIS_URL, 'request', 'wxsync-test-ops-request');
  const wechat = createWeChatClient(config, { redis, log });
  const queues = [openQueue(QUEUE_NAMES.events, redis, prefix), openQueue(QUEUE_NAMES.sync, redis, prefix)];
  const deps: OpsDeps = { db: database.db, redis, log, wechat, config, queues };
  const app = createApp(
    { config, log, redis: requestRedis, eventsQueue: queues[0]! },
    { mount: operatorRoutes({ ...deps, checkTimeoutMs: 1_500 }) },
  );
  return {
    app,
    deps,
    config,
    fake,
    database,
    prefix,
    queues,
    async close() {
      for (const queue of queues) {
        await queue.obliterate({ force: true }).catch(() => undefined);
        await queue.close();
      }
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      wechat.close();
      requestRedis.disconnect();
      await redis.quit();
      await fake.close();
      await database.drop();
    },
  };
}

export const bearer = (token = ADMIN_TOKEN) => ({ Authorization: `Bearer ${token}` });
export const jsonHeaders = (token = ADMIN_TOKEN) => ({
  ...bearer(token),
  'Content-Type': 'application/json',
});
