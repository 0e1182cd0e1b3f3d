/**
 * Chaos 1: worker processes are SIGKILLed mid-work, once while they apply pushed events and once
 * during a follower sync (with events arriving too), and a new worker is started each time.
 * Delivery is at-least-once (a killed worker's active jobs stall and run again); the product must
 * make that idempotent: every push recorded and applied exactly once, the mirror exact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forEachBounded } from '../../jobs/pool.ts';
import { listRuns } from '../../src/db/sync-runs.ts';
import type { PushResult } from '../../src/fake-wechat/index.ts';
import { createLogger } from '../../src/logger.ts';
import { type RunningServer, startServer } from '../../src/runtime/server.ts';
import { enqueueSync } from '../../src/sync/queue.ts';
import { chaosTestEnv, HEAVY, type PushedEvent } from '../support/chaos.ts';
import { TEST_WECHAT } from '../support/env.ts';
import { perFile } from '../support/per-file.ts';
import { type Spawned, until } from '../support/processes.ts';

const FOLLOWERS = HEAVY ? 100_000 : 10_000;
const NEW_FOLLOWERS = HEAVY ? 400 : 120;
const LEAVING = HEAVY ? 150 : 40;
const DURING_SYNC = HEAVY ? 200 : 40;

const env = perFile(async () => {
  const env = await chaosTestEnv({
    followers: FOLLOWERS,
    seed: 71,
    blacklist: 0,
    token: TEST_WECHAT.WECHAT_TOKEN,
  });
  // Slow enough that a kill lands mid-job: the batchget calls of events and of the sync.
  env.fake.faults.set('user/info/batchget', { latencyMs: 60 });
  return env;
});
let server: RunningServer;

beforeAll(async () => {
  server = await startServer(
    env.configFor({ HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent' }),
    createLogger('silent', { pretty: false }),
  );
  env.fake.push.configure({
    callbackUrl: `${server.url}/wx`,
    token: TEST_WECHAT.WECHAT_TOKEN,
    mode: 'plain',
  });
});

afterAll(async () => {
  await server?.close();
});

const startWorker = () => env.startChildWorkers({ EVENT_WORKER_CONCURRENCY: '4', LOG_LEVEL: 'silent' });

async function kill(worker: Spawned) {
  worker.child.kill('SIGKILL');
  expect(await worker.exit).toBe(null);
}

const record =
  (event: PushedEvent['event']) =>
  (r: PushResult): PushedEvent => {
    expect(r.ok).toBe(true);
    return { openid: r.openid, event, createTime: r.createTime };
  };

describe('worker SIGKILL', () => {
  it('mid-events and mid-sync: every push applied once, exact mirror', async () => {
    const pushed: PushedEvent[] = [];
    const leaving = env.fake.state
      .followerOpenids()
      .filter((_, i) => i % 97 === 5)
      .slice(0, LEAVING);

    // Phase 1: a burst of subscribes (new followers) and unsubscribes; kill the worker mid-burst.
    const first = await startWorker();
    // Interleaved: unsubscribes among the subscribes, so both kinds are in flight at the kill.
    const subscribes = Array.from({ length: NEW_FOLLOWERS }, () => async () => {
      pushed.push(record('subscribe')(await env.fake.push.newFollower()));
    });
    const unsubscribes = leaving.map((openid) => async () => {
      pushed.push(record('unsubscribe')(await env.fake.push.unsubscribe(openid)));
    });
    const every = Math.ceil(subscribes.length / unsubscribes.length);
    const burst = subscribes.flatMap((push, i) =>
      i % every === 0 && unsubscribes.length > 0 ? [push, unsubscribes.shift()!] : [push],
    );
    burst.push(...unsubscribes);
    const pushing = forEachBounded(burst, 8, (push) => push());
    const total = NEW_FOLLOWERS + LEAVING;
    await until('some events to be applied', async () => (await env.processedEvents()) >= total / 5);
    await kill(first);
    // The kill landed mid-work: jobs it held are still 'active' (they will stall), others untouched.
    expect(await env.queues.events.getActiveCount()).toBeGreaterThan(0);
    expect(await env.processedEvents()).toBeLessThan(total);
    await pushing;

    const second = await startWorker();
    await until('every event to be applied', async () => (await env.processedEvents()) === total, 90_000);

    // Phase 2: a follower sync, with new followers subscribing meanwhile; kill mid-sync.
    const { job } = await enqueueSync(env.queues.sync, 'followers', { trigger: 'test' });
    const duringSync = forEachBounded(Array.from({ length: DURING_SYNC }), 4, async () => {
      pushed.push(record('subscribe')(await env.fake.push.newFollower()));
    });
    await until(
      'a third of the account to be synced',
      async () =>
        (await env.t.db.follower.count({ where: { subscribe: true } })) >= NEW_FOLLOWERS + FOLLOWERS / 3,
      90_000,
    );
    await kill(second);
    const [run] = await listRuns(env.t.db, { job: 'followers' });
    expect(run?.status).toBe('running');
    expect(await job.getState()).toBe('active');
    await duringSync;

    const third = await startWorker();
    await until('the stalled sync to finish', async () => (await job.getState()) === 'completed', 120_000);
    await until(
      'every event to be applied',
      async () => (await env.processedEvents()) === pushed.length,
      90_000,
    );

    expect(pushed.length).toBe(NEW_FOLLOWERS + LEAVING + DURING_SYNC);
    await env.expectEventsOnce(pushed);
    await env.expectExactMirror(leaving);
    const runs = await listRuns(env.t.db, { job: 'followers' });
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: 'succeeded', attempts: 2 });
    await kill(third);
  }, 300_000);
});
