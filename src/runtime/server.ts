/**
 * The HTTP server of `wxsync serve` (and the demo): /wx for WeChat, plus health, metrics and
 * /admin, with every dependency built once. close(): stop accepting connections, let in-flight
 * requests finish, then close the queues, Redis and PostgreSQL.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Config } from '../config.ts';
import { createDb } from '../db/client.ts';
import type { Log } from '../logger.ts';
import { openQueue, QUEUE_NAMES } from '../queues.ts';
import { createRedis, redisReady } from '../redis.ts';
import { operatorRoutes } from '../server/admin/index.ts';
import { createApp } from '../server/app.ts';
import { createWeChatClient } from '../wechat/client.ts';

export interface RunningServer {
  /** http://host:port actually bound (PORT=0 picks a free port). */
  url: string;
  close(): Promise<void>;
}

/** Builds every dependency once, mounts /wx and the operator routes, and listens. */
export async function startServer(config: Config, log: Log): Promise<RunningServer> {
  // /wx's connection fails fast (503 while Redis is down); the operator routes use a patient one.
  const requestRedis = createRedis(config.REDIS_URL, 'request', 'wxsync-serve-request', log);
  // The events queue gets its own fail-fast connection: ioredis copies BullMQ's Lua scripts into
  // every auto-pipeline built on a connection, which cost the dedupe claims ~4% of /wx's CPU.
  const queueRedis = createRedis(config.REDIS_URL, 'request', 'wxsync-serve-queue', log);
  const serviceRedis = createRedis(config.REDIS_URL, 'service', 'wxsync-serve-service', log);
  const ready = await Promise.all([redisReady(requestRedis), redisReady(queueRedis)]);
  if (!ready.every(Boolean)) {
    log.warn('Redis is not reachable yet: /wx answers 503 until it is (WeChat retries)');
  }
  const db = createDb(config.DATABASE_URL);
  const wechat = createWeChatClient(config, { redis: serviceRedis, log });
  const eventsQueue = openQueue(QUEUE_NAMES.events, queueRedis, config.QUEUE_PREFIX, {}, log);
  const syncQueue = openQueue(QUEUE_NAMES.sync, serviceRedis, config.QUEUE_PREFIX, {}, log);
  const app = createApp(
    { config, log, redis: requestRedis, eventsQueue },
    {
      mount: operatorRoutes({
        config,
        log,
        db,
        redis: serviceRedis,
        wechat,
        queues: [eventsQueue, syncQueue],
      }),
    },
  );
  const { server, address } = await new Promise<{ server: ReturnType<typeof serve>; address: AddressInfo }>(
    (resolve, reject) => {
      const server = serve({ fetch: app.fetch, hostname: config.HOST, port: config.PORT }, (address) =>
        resolve({ server, address }),
      );
      server.once('error', reject);
    },
  );
  const host = address.address.includes(':') ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  log.info({ url, wx: `${url}/wx` }, 'wxsync server listening');
  return {
    url,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Idle keep-alive sockets would hold close() open; busy ones finish their request first.
        if ('closeIdleConnections' in server) server.closeIdleConnections();
      });
      await Promise.allSettled([eventsQueue.close(), syncQueue.close()]);
      await Promise.allSettled([requestRedis.quit(), queueRedis.quit(), serviceRedis.quit()]);
      await db.$disconnect();
    },
  };
}
