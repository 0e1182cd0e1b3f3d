import { Redis } from 'ioredis';

/**
 * Redis connections by role (BullMQ's production guide):
 * - `worker`: blocking BullMQ workers, must never give up a command (`maxRetriesPerRequest: null`).
 * - `request`: on the /wx request path; fails fast while Redis is down (no offline queue) so the
 *   push gets a 503 at once and WeChat retries, instead of hanging past its 5 s budget.
 * - `service`: everything else (token store, rate limiter, queue producers in jobs and the CLI).
 */
export type RedisRole = 'worker' | 'request' | 'service';

export function createRedis(url: string, role: RedisRole, name = `wxsync-${role}`): Redis {
  const common = { connectionName: name, lazyConnect: false };
  switch (role) {
    case 'worker':
      return new Redis(url, { ...common, maxRetriesPerRequest: null });
    case 'request':
      return new Redis(url, {
        ...common,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        retryStrategy: (times) => Math.min(times * 200, 2000),
      });
    case 'service':
      return new Redis(url, { ...common, maxRetriesPerRequest: 3 });
  }
}
