/**
 * A sync request is never silently dropped: a request joins a queued or running job only when the
 * resolved parameters are identical; otherwise it is queued behind it (one run at a time stays) and
 * says so. A failed attempt BullMQ will retry is 'retrying' (error, next attempt time), resumes the
 * same run, and is 'failed' only when no attempt is left.
 */
import type { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { enqueueSlot, slotJobId } from '../../jobs/scheduler.ts';
import { createSyncWorker } from '../../jobs/sync-worker.ts';
import { addDays, beijingYesterday } from '../../src/calendar.ts';
import { getRun, listRuns } from '../../src/db/sync-runs.ts';
import { openQueue, QUEUE_NAMES } from '../../src/queues.ts';
import { describeEnqueued, enqueueSync, followSyncJob } from '../../src/sync/queue.ts';
import { perFile } from '../support/per-file.ts';
import { until } from '../support/processes.ts';
import { syncTestEnv } from '../support/sync-env.ts';

const env = perFile(() => syncTestEnv({ followers: 2_000, seed: 57, blacklist: 0, statsDays: 45 }));

describe('requests with other parameters are queued behind, never folded in', () => {
  it('a 30-day backfill requested while the scheduled one-day run is in progress stores all 30 days', async () => {
    const queue = openQueue(QUEUE_NAMES.sync, env.connection(), env.prefix);
    const worker = createSyncWorker(env.deps, {
      connection: env.connection({ worker: true }),
      concurrency: 2,
      busyRecheckMs: 200,
    });
    // Slow statistics: the scheduled run is still at work when the backfill is asked for.
    env.fake.faults.set('getusersummary', { latencyMs: 1_500 });
    try {
      const slot = new Date();
      expect(await enqueueSlot(queue, 'datacube', slot)).toBe(true);
      const scheduled = await queue.getJob(slotJobId('datacube', slot));
      await until('the scheduled run to be at work', async () => (await scheduled?.getState()) === 'active');

      const to = beijingYesterday(new Date());
      const from = addDays(to, -29);
      const backfill = await enqueueSync(queue, 'datacube', { trigger: 'cli', from, to });
      expect(backfill.joined).toBe(false);
      expect(backfill.job.id).not.toBe(scheduled?.id);
      expect(backfill.behind.map((b) => b.id)).toEqual([scheduled?.id]);
      expect(backfill.behind[0]?.params).toMatchObject({ from: to, to });
      expect(describeEnqueued('datacube', backfill)).toMatch(
        new RegExp(`queued behind ${scheduled?.id} \\(active, from=${to} to=${to} today=`),
      );

      const [one, thirty] = await Promise.all([
        followSyncJob(scheduled!, env.connection(), env.prefix, () => undefined),
        followSyncJob(backfill.job, env.connection(), env.prefix, () => undefined),
      ]);
      expect(one.params).toMatchObject({ from: to, to });
      expect(thirty.params).toMatchObject({ from, to });
      expect(thirty.counts).toMatchObject({ windows: 5, windowsDone: 5 });
      const days = await env.t.db.$queryRaw<{ n: bigint }[]>`
        SELECT count(*) AS n FROM user_cumulate WHERE ref_date BETWEEN ${from}::date AND ${to}::date`;
      expect(Number(days[0]?.n)).toBe(30);
      // Two runs, one after the other (one run of a job at a time).
      const runs = (await listRuns(env.t.db, { job: 'datacube' })).sort((a, b) => a.id - b.id);
      expect(runs.map((r) => [r.status, r.params.from, r.trigger])).toEqual([
        ['succeeded', to, 'schedule'],
        ['succeeded', from, 'cli'],
      ]);
      const [first, second] = runs;
      expect(second!.startedAt.getTime()).toBeGreaterThanOrEqual(first!.finishedAt!.getTime());
    } finally {
      env.fake.faults.clear();
      await worker.close();
      await queue.close();
    }
  });

  it('a request with the same resolved parameters joins (no date = yesterday = the scheduled range)', async () => {
    const queue = openQueue(QUEUE_NAMES.sync, env.connection(), env.prefix);
    try {
      const slot = new Date(Date.now() + 3_600_000);
      await enqueueSlot(queue, 'datacube', slot);
      const yesterday = beijingYesterday(slot);
      const same = await enqueueSync(queue, 'datacube', { trigger: 'cli', from: yesterday, to: yesterday });
      expect(same).toMatchObject({ joined: true, behind: [] });
      expect(same.job.id).toBe(slotJobId('datacube', slot));
      expect(describeEnqueued('datacube', same)).toMatch(/joining job .* \(same parameters/);
      // Another mode of the follower sync is another run: queued, not joined.
      const full = await enqueueSync(queue, 'followers', { trigger: 'cli', mode: 'full' });
      const listing = await enqueueSync(queue, 'followers', { trigger: 'cli', mode: 'listing' });
      expect(listing.joined).toBe(false);
      expect(listing.behind.map((b) => b.id)).toContain(full.job.id);
      // A forced request does not join an unforced job (it would lose --force); the reverse does.
      const forced = await enqueueSync(queue, 'followers', { trigger: 'cli', mode: 'full', force: true });
      expect(forced.joined).toBe(false);
      const unforced = await enqueueSync(queue, 'followers', { trigger: 'cli', mode: 'full' });
      expect(unforced.joined).toBe(true);
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});

describe('run states', () => {
  /** Enqueues a follower run while user/get fails; once its first attempt has failed, the run is 'retrying'. */
  const firstAttemptFailed = async (queue: Queue, mode: 'listing' | 'full') => {
    env.fake.faults.set('user/get', { errcode: -1, errorRate: 1 });
    const { job } = await enqueueSync(queue, 'followers', { trigger: 'test', mode });
    await until('the first attempt to fail', async () => (await job.getState()) === 'delayed', 30_000);
    const [run] = await listRuns(env.t.db, { job: 'followers', limit: 1 });
    expect(run?.status).toBe('retrying');
    return { job, run };
  };

  it('a failed attempt BullMQ will retry is retrying (error, next attempt), resumes the run, failed only at the end', async () => {
    const queue = openQueue(QUEUE_NAMES.sync, env.connection(), env.prefix);
    const worker = createSyncWorker(env.deps, {
      connection: env.connection({ worker: true }),
      concurrency: 1,
    });
    try {
      const { job, run } = await firstAttemptFailed(queue, 'listing');
      expect(run?.error).toMatch(/attempt failed, will be retried at .*errcode -1/);
      // The followers job backs off 30 s after its first failure.
      const next = run?.nextAttemptAt?.getTime() ?? 0;
      expect(next).toBeGreaterThan(Date.now() + 20_000);
      expect(next).toBeLessThan(Date.now() + 31_000);
      const fresh = await queue.getJob(job.id as string);
      expect(fresh?.data).toMatchObject({ resumeRun: run?.id });

      // Attempt 2 fails too; attempt 3 is the last: then, and only then, the run is failed.
      await fresh?.promote();
      await until(
        'the second attempt to fail',
        async () =>
          (await getRun(env.t.db, run!.id))?.attempts === 2 && (await fresh!.getState()) === 'delayed',
        30_000,
      );
      expect((await getRun(env.t.db, run!.id))?.status).toBe('retrying');
      await fresh?.promote();
      await until('the last attempt to fail', async () => (await fresh!.getState()) === 'failed', 30_000);
      const failed = await getRun(env.t.db, run!.id);
      expect(failed).toMatchObject({ status: 'failed', attempts: 3, nextAttemptAt: null });
      expect(failed?.error).toMatch(/errcode -1/);
      expect(failed?.error).not.toMatch(/will be retried/);
    } finally {
      env.fake.faults.clear();
      await worker.close();
    }

    // With WeChat answering again, a retried attempt resumes its own run and succeeds.
    const worker2 = createSyncWorker(env.deps, {
      connection: env.connection({ worker: true }),
      concurrency: 1,
    });
    try {
      const { job, run } = await firstAttemptFailed(queue, 'full');
      env.fake.faults.clear();
      await (await queue.getJob(job.id as string))?.promote();
      const result = await followSyncJob(job, env.connection(), env.prefix, () => undefined);
      expect(result).toMatchObject({ runId: run?.id, resumed: true, attempts: 2 });
      expect(await getRun(env.t.db, run!.id)).toMatchObject({ status: 'succeeded', nextAttemptAt: null });
    } finally {
      env.fake.faults.clear();
      await worker2.close();
      await queue.close();
    }
  });
});
