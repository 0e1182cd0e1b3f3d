/**
 * The /wx push path in one process, for the server tests that follow a push to the database: a
 * fresh database, the fake platform (pushing as the test account), the app from createApp on the
 * events queue of a random Redis prefix, the three connections the product uses (request,
 * service, worker), the events worker on demand and, if asked, the app served over real HTTP.
 * `close()` stops all of it, deletes the prefix's keys and drops the database.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Queue } from 'bullmq';
import type { Hono } from 'hono';
import type { Redis } from 'ioredis';
import { type EventWorker, startEventWorker } from '../../jobs/events/worker.ts';
import type { Config } from '../../src/config.ts';
import type { FakeWeChat, FakeWeChatOptions } from '../../src/fake-wechat/index.ts';
import { createLogger, type Log } from '../../src/logger.ts';
import { QUEUE_NAMES } from '../../src/queues.ts';
import { createRedis, redisReady } from '../../src/redis.ts';
import { type AppEnv, createApp } from '../../src/server/app.ts';
import { createWeChatClient } from '../../src/wechat/client.ts';
import { freshDatabase, type TestDatabase } from './db.ts';
import { TEST_REDIS_URL } from './env.ts';
import { startAccountFake } from './fake-wechat.ts';
import { testConfig } from './wx.ts';

export interface EventsTestEnv {
  prefix: string;
  log: Log;
  config: Config;
  tdb: TestDatabase;
  fake: FakeWeChat;
  /** The connection /wx uses (fail-fast), the service one (token store, checks) and the worker's. */
  requestRedis: Redis;
  serviceRedis: Redis;
  workerRedis: Redis;
  /** The events queue /wx writes to (on the request connection). */
  queue: Queue;
  app: Hono<AppEnv>;
  /** Starts the events worker on this queue (closed by stopWorker or close). */
  startWorker(options: { concurrency: number; batchWaitMs: number }): EventWorker;
  stopWorker(): Promise<void>;
  /** Serves `app` over real HTTP on 127.0.0.1 and points the fake's pushes at its /wx; the base URL. */
  listen(): Promise<string>;
  /** The base URL listen() serves on. */
  readonly baseUrl: string;
  /** Empties the events queue and forgets every dedupe claim (between tests). */
  reset(): Promise<void>;
  close(): Promise<void>;
}

export async function eventsTestEnv(options: {
  /** Names the Redis prefix (`t-<name>-<random>`). */
  name: string;
  fake?: FakeWeChatOptions;
  /** Configuration beyond testConfig's (QUEUE_PREFIX, DATABASE_URL and WECHAT_API_BASE are set here). */
  config?: Record<string, string>;
}): Promise<EventsTestEnv> {
  const prefix = `t-${options.name}-${randomBytes(4).toString('hex')}`;
  const log = createLogger('silent', { pretty: false });
  const tdb = await freshDatabase();
  const fake = await startAccountFake(options.fake);
  const config = testConfig({
    QUEUE_PREFIX: prefix,
    DATABASE_URL: tdb.url,
    WECHAT_API_BASE: fake.url,
    ...options.config,
  });
  const requestRedis = createRedis(TEST_REDIS_URL, 'request');
  const serviceRedis = createRedis(TEST_REDIS_URL, 'service');
  const workerRedis = createRedis(TEST_REDIS_URL, 'worker');
  await redisReady(requestRedis);
  const queue = new Queue(QUEUE_NAMES.events, { connection: requestRedis, prefix });
  const app = createApp({ config, log, redis: requestRedis, eventsQueue: queue });
  let worker: EventWorker | undefined;
  let server: ReturnType<typeof serve> | undefined;
  let baseUrl: string | undefined;
  const stopWorker = async () => {
    await worker?.close();
    worker = undefined;
  };
  return {
    prefix,
    log,
    config,
    tdb,
    fake,
    requestRedis,
    serviceRedis,
    workerRedis,
    queue,
    app,
    startWorker(workerOptions) {
      const wechat = createWeChatClient(config, { redis: serviceRedis, log });
      worker = startEventWorker({ db: tdb.db, wechat, log, connection: workerRedis, prefix }, workerOptions);
      return worker;
    },
    stopWorker,
    async listen() {
      const port = await new Promise<number>((resolve) => {
        server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) =>
          resolve(info.port),
        );
      });
      baseUrl = `http://127.0.0.1:${port}`;
      fake.push.configure({ callbackUrl: `${baseUrl}/wx` });
      return baseUrl;
    },
    get baseUrl() {
      if (!baseUrl) throw new Error('the app is not served over HTTP: call listen() first');
      return baseUrl;
    },
    async reset() {
      await queue.obliterate({ force: true });
      const keys = await serviceRedis.keys(`${prefix}:wx-dedupe:*`);
      if (keys.length > 0) await serviceRedis.del(...keys);
    },
    async close() {
      await stopWorker();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await queue.obliterate({ force: true });
      const keys = await serviceRedis.keys(`${prefix}:*`);
      if (keys.length > 0) await serviceRedis.del(...keys);
      await queue.close();
      await fake.close();
      for (const r of [requestRedis, serviceRedis, workerRedis]) r.disconnect();
      await tdb.drop();
    },
  };
}
