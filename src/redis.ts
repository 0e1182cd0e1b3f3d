import { Redis } from 'ioredis';

/**
 * Redis connections by role (BullMQ's production guide):
 * - `worker`: blocking BullMQ workers, must never give up a command (`maxRetriesPerRequest: null`).
 * - `request`: on the /wx request path; fails fast while Redis is down (no offline queue) or slow
 *   (command timeout) so the push gets a 503 and WeChat retries, instead of hanging past its 5 s
 *   budget. Commands of concurrent pushes are auto-pipelined (one write per tick).
 * - `service`: everything else (token store, rate limiter, queue producers in jobs and the CLI).
 */
export type RedisRole = 'worker' | 'request' | 'service';

/**
 * How long a command on a `request` connection may take before it fails (WeChat gives a push 5 s;
 * a 503 lets it retry). Enforced by ioredis per command: one timer, no wrapper promise per push.
 */
export const REQUEST_COMMAND_TIMEOUT_MS = 2000;

export function createRedis(url: string, role: RedisRole, name = `wxsync-${role}`): Redis {
  const common = { connectionName: name, lazyConnect: false };
  switch (role) {
    case 'worker':
      return new Redis(url, { ...common, maxRetriesPerRequest: null });
    case 'request':
      return new Redis(url, {
        ...common,
        // Concurrent pushes' commands leave in one write per event-loop tick instead of one each.
        enableAutoPipelining: true,
        enableOfflineQueue: false,
        commandTimeout: REQUEST_COMMAND_TIMEOUT_MS,
        maxRetriesPerRequest: 1,
        retryStrategy: (times) => Math.min(times * 200, 2000),
      });
    case 'service':
      return new Redis(url, { ...common, maxRetriesPerRequest: 3 });
  }
}

/**
 * Resolves once `redis` is connected, or after `timeoutMs` with false. A `request`-role connection
 * has no offline queue, so a server that listens before it is connected would answer its first
 * pushes 503; waiting briefly at start avoids that, while a Redis that is down does not stop the
 * server from starting (it answers 503 until Redis is back, and WeChat retries).
 */
export async function redisReady(redis: Redis, timeoutMs = 5000): Promise<boolean> {
  if (redis.status === 'ready') return true;
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      resolve(ok);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    redis.on('ready', onReady);
  });
}
