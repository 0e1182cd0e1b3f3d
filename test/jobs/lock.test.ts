/** The sync lock: one holder at a time, and a holder that cannot renew its lease stops. */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireLock } from '../../jobs/lock.ts';
import { until } from '../support/processes.ts';
import { freePort, startRedis, stopRedis } from '../support/redis-server.ts';

const clients: Redis[] = [];
afterAll(() => {
  for (const c of clients) c.disconnect();
});

describe('acquireLock', () => {
  it('refuses a second holder, then aborts a holder whose lease lapsed while Redis was unreachable', async () => {
    const port = await freePort();
    const server = await startRedis(port);
    const redis = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: () => 100 });
    redis.on('error', () => undefined); // the outage is the point
    clients.push(redis);
    try {
      const held = await acquireLock(redis, 'lock-test', { ttlMs: 600 });
      expect(held).toBeDefined();
      expect(await acquireLock(redis, 'lock-test', { ttlMs: 600 })).toBeUndefined();
      expect(held!.signal.aborted).toBe(false);
      await stopRedis(server, 'SIGKILL');
      // Another process could take the lock once the ttl passed: this holder must stop by then.
      await until('the holder to give up its lapsed lock', () => held!.signal.aborted, 10_000);
      expect(String(held!.signal.reason)).toMatch(/could not renew the lock/);
      await held!.release();
    } finally {
      if (server.exitCode === null) await stopRedis(server, 'SIGKILL');
    }
  });
});
