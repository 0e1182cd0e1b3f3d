/**
 * Daily quotas against the fake platform over HTTP (its per-path counters, 45009 with WeChat's
 * text and rid, quota/get, clear_quota): a follower run whose planned calls do not fit does not
 * start (recorded 'skipped', --force overrides); a 45009 mid-run pauses the run with its checkpoint
 * (sync_runs 'paused', the API, the rid and the resume time in its error), a delayed job resumes it
 * after the reset and any earlier request resumes it too; the resumed run fetches nothing twice.
 * The same for datacube windows and the publisher halves; `wxsync sync --inline` exits with 75.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { SYNC_JOBS } from '../../jobs/registry.ts';
import { runSyncJob } from '../../jobs/runner.ts';
import { createSyncWorker } from '../../jobs/sync-worker.ts';
import { addDays, beijingYesterday, nextQuotaReset } from '../../src/calendar.ts';
import { getRun, listRuns } from '../../src/db/sync-runs.ts';
import { openQueue, QUEUE_NAMES } from '../../src/queues.ts';
import { enqueueSync, followSyncJob } from '../../src/sync/queue.ts';
import { QuotaShortError, SyncPausedError } from '../../src/sync/quota.ts';
import type { SyncJobName } from '../../src/sync/registry.ts';
import { clearAllQuota } from '../../src/wechat/quota.ts';
import { mirrorOf, sorted } from '../support/mirror.ts';
import { perFile } from '../support/per-file.ts';
import { syncTestEnv } from '../support/sync-env.ts';

const FOLLOWERS = 10_000;
const BATCHGET = '/cgi-bin/user/info/batchget';

const env = perFile(async () => {
  const env = await syncTestEnv(
    { followers: FOLLOWERS, seed: 45, blacklist: 0, unsubscribedShare: 0, statsDays: 40 },
    // One batchget in flight: the call that meets 45009 is the only one wasted.
    { followerWriteRows: 500 },
  );
  env.deps.config = { ...env.deps.config, SYNC_BATCH_CONCURRENCY: 1 };
  return env;
});

/** Leaves `remain` calls of `path` for today (its daily limit stays WeChat's default). */
function leave(path: string, remain: number) {
  const limit = env.fake.state.quotas.figures(path)?.daily_limit ?? 0;
  env.fake.state.quotas.setUsed({ [path]: limit - remain });
}

/**
 * A new day on the fake's counters, without spending a clear (WeChat allows clear_quota 10 times
 * a month, the fake too): the pause test clears through the API, the others reset here.
 */
const resetQuotas = async () => {
  const paths = Object.keys(env.fake.state.quotas.snapshot().paths);
  env.fake.state.quotas.setUsed(Object.fromEntries(paths.map((p) => [p, 0])));
};

/** A run of `job` (inline) triggered by this test with `payload`. */
const syncRun = (job: SyncJobName, payload: Record<string, unknown>) =>
  runSyncJob(SYNC_JOBS[job], { trigger: 'test', ...payload }, env.deps);

/** A run of `job` that must pause on a 45009 (SyncPausedError); its sync_runs row. */
async function pausedRun(job: SyncJobName, payload: Record<string, unknown>) {
  const error = await syncRun(job, payload).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(SyncPausedError);
  return getRun(env.t.db, (error as SyncPausedError).runId);
}

/** The resume time a 45009 now leads to: 00:05 Beijing after the next midnight. */
const expectedResume = () => new Date(nextQuotaReset(new Date()).getTime() + 5 * 60_000);

/** `wxsync <args>` in a child process, one batchget in flight as in this file's runs. */
const cli = (args: string[]) => env.cli(args, { SYNC_BATCH_CONCURRENCY: '1' });

beforeEach(async () => {
  await resetQuotas();
});

describe('planning a follower run against the remaining quota', () => {
  it('does not start a run that would not fit; records it as skipped with the numbers', async () => {
    leave(BATCHGET, 50);
    const before = env.fake.calls.count('user/info/batchget');
    const error = await syncRun('followers', { mode: 'full' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QuotaShortError);
    expect(env.fake.calls.count('user/info/batchget')).toBe(before);
    expect(await env.t.db.follower.count()).toBe(0);
    const [run] = await listRuns(env.t.db, { job: 'followers' });
    expect(run).toMatchObject({ status: 'skipped', trigger: 'test', params: { mode: 'full' } });
    // 10,000 followers (WeChat's total from the first page): 100 calls, 50 left, 500,000 headroom.
    expect(run?.error).toMatch(/\/cgi-bin\/user\/info\/batchget needs ~100 calls, 0 available today/);
    expect(run?.error).toMatch(/--force/);
    expect(run?.counts).toMatchObject({
      'planned:user/info/batchget': 100,
      'remain:user/info/batchget': 50,
      'available:user/info/batchget': 0,
      'planned:user/get': 2,
    });
    expect(run?.finishedAt).not.toBeNull();
  });

  it('`wxsync sync followers --inline` says so and exits with 75', async () => {
    leave(BATCHGET, 50);
    const r = await cli(['sync', 'followers', '--inline']);
    expect(r.output).toMatch(/followers\s+SKIPPED .*not started: today's WeChat quota is short/);
    expect(r.output).toMatch(/waiting for WeChat's daily quota \(exit code 75\)/);
    expect(r.code).toBe(75);
    expect((await listRuns(env.t.db, { job: 'followers', limit: 1 }))[0]?.status).toBe('skipped');
  });
});

describe('45009 mid-run pauses, never wastes', () => {
  it('pauses at the quota, resumes from the checkpoint after a clear, exact mirror in <= 101 batchget calls', async () => {
    leave(BATCHGET, 40);
    const before = env.fake.calls.count('user/info/batchget');
    // --force: the plan (100 calls, 40 left) would not start it.
    const paused = await pausedRun('followers', { mode: 'full', force: true });
    expect(paused?.status).toBe('paused');
    expect(paused?.error).toMatch(/\/cgi-bin\/user\/info\/batchget/);
    expect(paused?.error).toMatch(/errcode 45009 \(reach max api daily quota limit rid: [\w-]+\)/);
    expect(paused?.error).toMatch(/00:05 Beijing time/);
    expect(paused?.nextAttemptAt?.getTime()).toBe(expectedResume().getTime());
    expect(paused?.finishedAt).toBeNull();
    expect(paused?.checkpoint).toMatchObject({ batchesDone: 40, pagesDone: 0 });
    // The 40 answered calls are stored; the 41st met 45009.
    expect(await env.t.db.follower.count()).toBe(4_000);
    expect(env.fake.calls.count('user/info/batchget') - before).toBe(41);

    // POST /cgi-bin/clear_quota, as an operator would.
    await clearAllQuota(env.wechat);
    expect(env.fake.state.quotas.figures(BATCHGET)?.used).toBe(0);
    const resumed = await syncRun('followers', { mode: 'full' });
    expect(resumed).toMatchObject({ runId: paused?.id, resumed: true, attempts: 2 });
    expect(resumed.counts).toMatchObject({ skippedOnResume: 4_000, batchgetCalls: 100, inserted: FOLLOWERS });
    expect(env.fake.calls.count('user/info/batchget') - before).toBeLessThanOrEqual(101);
    const m = await mirrorOf(env.t.db);
    expect(m.subscribed).toEqual(sorted(env.fake.state.followerOpenids()));
    expect((await getRun(env.t.db, resumed.runId))?.status).toBe('succeeded');
  });

  it('through the worker: a delayed job resumes it after the reset; an earlier request starts that job now', async () => {
    env.fake.state.addFollowers(250);
    leave(BATCHGET, 40);
    const queue = openQueue(QUEUE_NAMES.sync, env.connection(), env.prefix);
    const worker = createSyncWorker(env.deps, {
      connection: env.connection({ worker: true }),
      concurrency: 1,
    });
    try {
      const first = await enqueueSync(queue, 'followers', { trigger: 'test', mode: 'full', force: true });
      const result = await followSyncJob(first.job, env.connection(), env.prefix, () => undefined);
      expect(result.status).toBe('paused');
      expect(result.pause?.resumeAt).toBe(expectedResume().toISOString());
      const resumeJob = await queue.getJob(result.pause?.resumeJobId as string);
      expect(await resumeJob?.getState()).toBe('delayed');
      expect(resumeJob?.data).toMatchObject({ mode: 'full', force: true, resumeRun: result.runId });
      expect((resumeJob?.timestamp ?? 0) + (resumeJob?.opts.delay ?? 0)).toBeGreaterThanOrEqual(
        expectedResume().getTime() - 1_000,
      );
      expect((await getRun(env.t.db, result.runId))?.status).toBe('paused');

      await resetQuotas();
      // An unforced request for the same run joins the forced resume job and starts it at once.
      const again = await enqueueSync(queue, 'followers', { trigger: 'test', mode: 'full' });
      expect(again).toMatchObject({ joined: true, promoted: true });
      expect(again.job.id).toBe(resumeJob?.id);
      const done = await followSyncJob(again.job, env.connection(), env.prefix, () => undefined);
      expect(done).toMatchObject({ runId: result.runId, resumed: true, attempts: 2 });
      expect((await getRun(env.t.db, result.runId))?.status).toBe('succeeded');
      const m = await mirrorOf(env.t.db);
      expect(m.subscribed).toEqual(sorted(env.fake.state.followerOpenids()));
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('`wxsync sync followers --inline` exits with 75 and says when it resumes', async () => {
    leave(BATCHGET, 3);
    const r = await cli(['sync', 'followers', '--inline', '--force']);
    expect(r.code).toBe(75);
    expect(r.output).toMatch(/followers\s+PAUSED .*errcode 45009.*rid: /);
    expect(r.output).toMatch(
      /Resumes from its checkpoint after the reset, at \d{4}-\d\d-\d\d 00:05 Beijing time/,
    );
    const [run] = await listRuns(env.t.db, { job: 'followers', limit: 1 });
    expect(run?.status).toBe('paused');
    // The worker that will resume it finds its delayed job in the queue.
    const queue = openQueue(QUEUE_NAMES.sync, env.connection(), env.prefix);
    const delayed = await queue.getDelayed();
    expect(delayed.map((j) => (j.data as { resumeRun?: number }).resumeRun)).toContain(run?.id);
    await queue.close();
    // Finish it so later tests start clean.
    await resetQuotas();
    const finished = await syncRun('followers', { mode: 'full' });
    expect(finished).toMatchObject({ runId: run?.id, resumed: true });
  });

  it('a datacube backfill pauses between windows and resumes at the first window not stored', async () => {
    const to = beijingYesterday(new Date());
    const from = addDays(to, -29);
    leave('/datacube/getusersummary', 2);
    const paused = await pausedRun('datacube', { from, to });
    expect(paused).toMatchObject({ status: 'paused', checkpoint: { windowsDone: 2 } });
    expect(paused?.error).toMatch(/\/datacube\/getusersummary.*45009/);
    const summaryCalls = env.fake.calls.count('getusersummary');
    await resetQuotas();
    const resumed = await syncRun('datacube', { from, to });
    expect(resumed).toMatchObject({ runId: paused?.id, resumed: true, counts: { windowsDone: 5 } });
    // Windows 3..5 only.
    expect(env.fake.calls.count('getusersummary') - summaryCalls).toBe(3);
    const days = await env.t.db.$queryRaw<{ n: bigint }[]>`
      SELECT count(*) AS n FROM user_cumulate WHERE ref_date BETWEEN ${from}::date AND ${to}::date`;
    expect(Number(days[0]?.n)).toBe(30);
  });

  it('a publisher run paused on the settlements resumes without fetching the CPS half again', async () => {
    const to = beijingYesterday(new Date());
    const from = addDays(to, -6);
    leave('/publisher/stat', 1);
    const cpsBefore = env.fake.calls.count('publisher_cps_general');
    const paused = await pausedRun('publisher', { from, to });
    expect(paused).toMatchObject({ status: 'paused', checkpoint: { cpsDone: true } });
    await resetQuotas();
    const resumed = await syncRun('publisher', { from, to });
    expect(resumed).toMatchObject({ runId: paused?.id, resumed: true });
    expect(resumed.counts.cpsDays).toBe(7);
    expect(env.fake.calls.count('publisher_cps_general') - cpsBefore).toBe(1);
  });
});
