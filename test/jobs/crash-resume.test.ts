/**
 * Crash-resume: a process running the follower sync is killed with SIGKILL mid-run; starting again
 * finishes the SAME run (sync_runs row, attempts 2) to an exact mirror, without fetching again the
 * profiles stored before the kill. Once through `wxsync sync --inline` (a restart of the CLI), once
 * through BullMQ (the killed worker's job stalls and another worker resumes it).
 */
import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { lockKeyOf } from '../../jobs/runner.ts';
import { createSyncWorker } from '../../jobs/sync-worker.ts';
import { listRuns } from '../../src/db/sync-runs.ts';
import { openQueue, QUEUE_NAMES } from '../../src/queues.ts';
import { enqueueSync } from '../../src/sync/queue.ts';
import { TEST_REDIS_URL } from '../support/env.ts';
import { mirrorOf, sorted } from '../support/mirror.ts';
import { perFile } from '../support/per-file.ts';
import { spawnNode, until } from '../support/processes.ts';
import { syncTestEnv } from '../support/sync-env.ts';

const FOLLOWERS = 25_001;
const ONE_PASS_BATCHGETS = 100 + 100 + 51;
/**
 * What a kill may cost again: profiles fetched but not yet written (< 1,000 rows = 10 calls), the
 * calls in flight (concurrency 2) and one page's worth of rounding.
 */
const RESUME_MARGIN = 15;

// A little latency per call so the kill lands mid-run.
const env = perFile(() => syncTestEnv({ followers: FOLLOWERS, seed: 23, blacklist: 5, latencyMs: 8 }));

const spawnChild = (args: string[]) => spawnNode(args, env.childEnv());

const storedFollowers = () => env.t.db.follower.count();

async function expectExactMirror() {
  const m = await mirrorOf(env.t.db);
  expect(m.subscribed.length).toBe(FOLLOWERS);
  expect(m.subscribed).toEqual(sorted(env.fake.state.followerOpenids()));
  expect(m.unsubscribed).toEqual([]);
}

/** Kills `child` once it stored part of the account, and checks it really died mid-run. */
async function killMidRun(child: ChildProcess, exit: Promise<number | null>) {
  await until('the first profiles to be stored', async () => (await storedFollowers()) >= 6_000);
  child.kill('SIGKILL');
  await exit;
  const stored = await storedFollowers();
  expect(stored).toBeLessThan(FOLLOWERS);
  const [run] = await listRuns(env.t.db, { job: 'followers' });
  expect(run?.status).toBe('running');
  return stored;
}

describe('follower sync crash-resume', () => {
  it('a killed `wxsync sync followers --inline` finishes the same run when started again', async () => {
    const first = spawnChild(['bin/wxsync.mjs', 'sync', 'followers', '--inline']);
    const storedAtKill = await killMidRun(first.child, first.exit);

    // The dead process's lock expires after SYNC_LOCK_TTL_S (2 s in tests): a restart before that is
    // refused with a clear message; after it, the restart resumes the run.
    let restart = spawnChild(['bin/wxsync.mjs', 'sync', 'followers', '--inline']);
    const code = await restart.exit;
    if (code !== 0) {
      expect(code).toBe(1);
      expect(restart.output()).toContain('a followers sync is already running');
      await until(
        'the dead lock to expire',
        async () => (await env.redis.exists(lockKeyOf(env.prefix, 'followers'))) === 0,
      );
      restart = spawnChild(['bin/wxsync.mjs', 'sync', 'followers', '--inline']);
      expect(await restart.exit).toBe(0);
    }
    expect(restart.output()).toContain('resumed (attempt 2)');

    await expectExactMirror();
    const runs = await listRuns(env.t.db, { job: 'followers' });
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(Number(runs[0]?.counts.skippedOnResume)).toBeGreaterThanOrEqual(storedAtKill);
    expect(env.fake.calls.count('user/info/batchget')).toBeLessThanOrEqual(
      ONE_PASS_BATCHGETS + RESUME_MARGIN,
    );
  });

  it("BullMQ's retry of the killed worker's stalled job resumes through the checkpoint", async () => {
    await env.t.db.$executeRaw`TRUNCATE followers, sync_runs`;
    env.fake.calls.reset();
    const queueRedis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 3 });
    const workerRedis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    const queue = openQueue(QUEUE_NAMES.sync, queueRedis, env.prefix);
    try {
      const child = spawnChild(['--import', 'tsx', 'test/support/child-sync-worker.ts']);
      await until('the child worker', async () => child.output().includes('ready'));
      const { job } = await enqueueSync(queue, 'followers', { trigger: 'test' });
      await killMidRun(child.child, child.exit);

      const worker = createSyncWorker(env.deps, {
        connection: workerRedis,
        lockDuration: 1_000,
        stalledInterval: 1_000,
      });
      try {
        await until('the stalled job to finish', async () => (await job.getState()) === 'completed', 90_000);
      } finally {
        await worker.close();
      }
      const done = await queue.getJob(job.id as string);
      expect(done?.returnvalue).toMatchObject({ job: 'followers', resumed: true, attempts: 2 });
      await expectExactMirror();
      const runs = await listRuns(env.t.db, { job: 'followers' });
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({ status: 'succeeded', attempts: 2, trigger: 'test' });
      expect(env.fake.calls.count('user/info/batchget')).toBeLessThanOrEqual(
        ONE_PASS_BATCHGETS + RESUME_MARGIN,
      );
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
      await queueRedis.quit();
      await workerRedis.quit();
    }
  });
});
