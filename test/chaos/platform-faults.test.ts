/**
 * Chaos 4: the platform misbehaves for the whole run. Every WeChat call (token included) has a 20%
 * chance of errcode -1, 5% of a body cut in half, 5% of a latency spike; and every token is forced
 * to expire periodically (40001 on the next call). The issue asks for one forced expiry per minute;
 * the default run lasts seconds, so it uses one every 2 s (many expiries per run, the harder case),
 * and the heavy variant (WXSYNC_HEAVY_TESTS=1) uses the real once-per-minute period over a run that
 * lasts longer than a minute. The follower sync runs in a BullMQ worker with the production client
 * settings (WECHAT_MAX_ATTEMPTS and backoff defaults) and must still converge to the exact mirror.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSyncWorker } from '../../jobs/sync-worker.ts';
import { listRuns } from '../../src/db/sync-runs.ts';
import { createRedis } from '../../src/redis.ts';
import { createWeChatClient, type WeChatClient } from '../../src/wechat/client.ts';
import { chaosTestEnv, HEAVY } from '../support/chaos.ts';
import { TEST_REDIS_URL } from '../support/env.ts';
import { perFile } from '../support/per-file.ts';
import { until } from '../support/processes.ts';

const FOLLOWERS = HEAVY ? 200_000 : 10_000;
const TOKEN_EXPIRY_EVERY_S = HEAVY ? 60 : 2;

const env = perFile(() => chaosTestEnv({ followers: FOLLOWERS, seed: 74, blacklist: 0 }));
let wechat: WeChatClient;

beforeAll(() => {
  // The production client: default attempts, backoff and timeout (not the fast test client).
  wechat = createWeChatClient(env.configFor(), { redis: env.redis, log: env.log });
});

afterAll(() => {
  wechat?.close();
});

describe('fake platform misbehaving for the whole run', () => {
  it('the follower sync still converges to the exact mirror', async () => {
    env.fake.faults.configure({
      rules: {
        '*': {
          latencyMs: HEAVY ? 20 : 2,
          errcode: -1,
          errorRate: 0.2,
          truncateRate: 0.05,
          spikeRate: 0.05,
          spikeMs: 1_500,
        },
      },
      tokenExpiryEveryS: TOKEN_EXPIRY_EVERY_S,
    });
    const workerRedis = createRedis(TEST_REDIS_URL, 'worker', 'wxsync-test-chaos-faults');
    const worker = createSyncWorker({ ...env.deps, wechat }, { connection: workerRedis });
    const started = Date.now();
    try {
      const job = await env.addFollowersJob('chaos-faults');
      await until(
        'the sync job to finish',
        async () => ['completed', 'failed'].includes(await job.getState()),
        HEAVY ? 900_000 : 150_000,
        200,
      );
      expect(await job.getState()).toBe('completed');
    } finally {
      env.fake.faults.clear();
      await worker.close();
      workerRedis.disconnect();
    }
    const elapsedS = (Date.now() - started) / 1000;

    await env.expectExactMirror([]);
    const runs = await listRuns(env.t.db, { job: 'followers' });
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: 'succeeded' });

    // The faults really happened and were absorbed: errcode -1 and cut bodies were retried, and
    // forced expiries made the client drop the token and fetch a new one.
    const warnings = env.logs.filter((l) => l.msg === 'transient wechat failure; retrying');
    const reasons = warnings.map((l) => String(l.reason));
    expect(reasons.some((r) => r.includes('errcode -1'))).toBe(true);
    expect(reasons.some((r) => r.includes('(truncated)'))).toBe(true);
    // A forced expiry is noticed only by a call made after it: guaranteed once the run outlasts a period.
    if (elapsedS > TOKEN_EXPIRY_EVERY_S + 1) {
      expect(
        env.logs.some((l) => l.msg === 'wechat rejected the access_token; retrying once with a fresh one'),
      ).toBe(true);
      expect(env.fake.calls.tokenFetches()).toBeGreaterThanOrEqual(2);
    }
  }, 900_000);
});
