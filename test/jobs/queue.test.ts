/**
 * One run at a time, the queue path (enqueue, join, follow progress, error mapping), and the
 * scheduler: two schedulers enqueue each slot once.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { SYNC_JOBS } from '../../jobs/registry.ts';
import { runSyncJob } from '../../jobs/runner.ts';
import { enqueueSlot, scheduledPayload, slotJobId, startScheduler } from '../../jobs/scheduler.ts';
import { createSyncWorker } from '../../jobs/sync-worker.ts';
import { beijingDate } from '../../src/calendar.ts';
import { formatRunsTable } from '../../src/cli/runs.ts';
import { jobsFor, payloadsFor } from '../../src/cli/sync.ts';
import { listRuns } from '../../src/db/sync-runs.ts';
import { ConflictError, InputError } from '../../src/errors.ts';
import { openQueue, QUEUE_NAMES } from '../../src/queues.ts';
import type { SyncProgress } from '../../src/sync/contract.ts';
import { enqueueSync, followSyncJob } from '../../src/sync/queue.ts';
import { SYNC_JOB_NAMES } from '../../src/sync/registry.ts';
import { perFile } from '../support/per-file.ts';
import { syncTestEnv } from '../support/sync-env.ts';

const env = perFile(() => syncTestEnv({ followers: 3_000, seed: 3, blacklist: 40, blacklistPageSize: 10 }));

describe('one run of a job at a time', () => {
  it('a second concurrent request is refused with a clear message; one run is recorded', async () => {
    const runs = await Promise.allSettled([
      runSyncJob(SYNC_JOBS.followers, { trigger: 'test' }, env.deps),
      runSyncJob(SYNC_JOBS.followers, { trigger: 'test' }, env.deps),
    ]);
    const ok = runs.filter((r) => r.status === 'fulfilled');
    const refused = runs.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    expect(ok).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toBeInstanceOf(ConflictError);
    expect((refused[0] as Error).message).toMatch(/a followers sync is already running/);
    expect(await listRuns(env.t.db, { job: 'followers' })).toHaveLength(1);
    expect(await env.t.db.follower.count()).toBe(3_000);
  });
});

describe('through the queue', () => {
  it('a second request joins the queued job; the worker runs it once and reports progress', async () => {
    const queue = openQueue(QUEUE_NAMES.sync, env.connection(), env.prefix);
    const first = await enqueueSync(queue, 'blacklist', { trigger: 'test' });
    const second = await enqueueSync(queue, 'blacklist', { trigger: 'test' });
    expect(first.joined).toBe(false);
    expect(second.joined).toBe(true);
    expect(second.job.id).toBe(first.job.id);
    expect(first.job.id).not.toContain(':');

    const progress: SyncProgress[] = [];
    const following = followSyncJob(first.job, env.connection(), env.prefix, (p) => progress.push(p));
    const worker = createSyncWorker(env.deps, {
      connection: env.connection({ worker: true }),
      progressEveryMs: 0,
    });
    try {
      const result = await following;
      expect(result).toMatchObject({ job: 'blacklist', counts: { listed: 40, added: 40 } });
      expect(progress.length).toBeGreaterThan(0);
      expect(progress.at(-1)).toMatchObject({ job: 'blacklist', phase: 'done', done: 40 });
    } finally {
      await worker.close();
      await queue.close();
    }
    expect(await listRuns(env.t.db, { job: 'blacklist' })).toHaveLength(1);
  });

  it('a permanent failure fails the job at once (UnrecoverableError) and records why', async () => {
    const queue = openQueue(QUEUE_NAMES.sync, env.connection(), env.prefix);
    const today = beijingDate(new Date());
    const { job } = await enqueueSync(queue, 'datacube', { trigger: 'test', from: today, to: today });
    const worker = createSyncWorker(env.deps, { connection: env.connection({ worker: true }) });
    try {
      await expect(followSyncJob(job, env.connection(), env.prefix, () => undefined)).rejects.toThrow(
        /up to yesterday/,
      );
    } finally {
      await worker.close();
    }
    const failed = await queue.getJob(job.id as string);
    expect(failed?.attemptsMade).toBe(1);
    expect(await failed?.getState()).toBe('failed');
    const [run] = await listRuns(env.t.db, { job: 'datacube' });
    expect(run).toMatchObject({ status: 'failed' });
    expect(run?.error).toMatch(/up to yesterday/);
    await queue.close();
  });
});

describe('scheduler', () => {
  it('slot ids are deterministic and free of ":"; dated payloads come from the slot', () => {
    const slot = new Date('2026-03-09T18:00:00.123Z'); // 02:00 on 2026-03-10 in Beijing
    expect(slotJobId('followers', slot)).toBe('followers-sched-20260309T180000Z');
    expect(slotJobId('followers', new Date('2026-03-09T18:00:00.999Z'))).toBe(slotJobId('followers', slot));
    expect(scheduledPayload('datacube', slot)).toEqual({
      trigger: 'schedule',
      from: '2026-03-09',
      to: '2026-03-09',
    });
    expect(scheduledPayload('publisher', slot)).toEqual({
      trigger: 'schedule',
      from: '2026-03-03',
      to: '2026-03-09',
    });
  });

  it('two schedulers enqueueing the same slot start one run', async () => {
    const a = openQueue(QUEUE_NAMES.sync, env.connection(), env.prefix);
    const b = openQueue(QUEUE_NAMES.sync, env.connection(), env.prefix);
    const slot = new Date('2026-03-09T18:00:00Z');
    const added = await Promise.all([enqueueSlot(a, 'blacklist', slot), enqueueSlot(b, 'blacklist', slot)]);
    expect(added).toContain(true);
    // A late scheduler after the slot ran adds nothing either.
    const worker = createSyncWorker(env.deps, { connection: env.connection({ worker: true }) });
    const job = await a.getJob(slotJobId('blacklist', slot));
    try {
      await followSyncJob(job as NonNullable<typeof job>, env.connection(), env.prefix, () => undefined);
      expect(await enqueueSlot(b, 'blacklist', slot)).toBe(false);
    } finally {
      await worker.close();
    }
    const scheduled = (await listRuns(env.t.db, { job: 'blacklist' })).filter(
      (r) => r.trigger === 'schedule',
    );
    expect(scheduled).toHaveLength(1);
    await a.close();
    await b.close();
  });

  it('two running node-cron schedulers put one job per slot in the queue', async () => {
    const prefix = `${env.prefix}cron`;
    const everySecond = '* * * * * *';
    const config = {
      CRON_TIMEZONE: 'Asia/Shanghai',
      CRON_FOLLOWERS: everySecond,
      CRON_FOLLOWERS_FULL: everySecond,
      CRON_BLACKLIST: everySecond,
      CRON_DATACUBE: everySecond,
      CRON_PUBLISHER: everySecond,
      CRON_TAGS: everySecond,
    };
    const queues = [
      openQueue(QUEUE_NAMES.sync, env.connection(), prefix),
      openQueue(QUEUE_NAMES.sync, env.connection(), prefix),
    ];
    const lines: { msg?: string; job?: string }[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
        done();
      },
    });
    const log = pino({ level: 'info' }, sink);
    const schedulers = queues.map((queue) => startScheduler({ config, queue, log }));
    await new Promise((r) => setTimeout(r, 3_300));
    for (const s of schedulers) await s.stop();
    await new Promise((r) => setTimeout(r, 300)); // let the last enqueues land
    try {
      const jobs = await queues[0]?.getJobs(['waiting', 'prioritized', 'delayed', 'active'], 0, 1000);
      for (const name of SYNC_JOB_NAMES) {
        const ids = (jobs ?? []).filter((j) => j.name === name).map((j) => j.id as string);
        const tries = lines.filter(
          (l) => l.job === name && (l.msg === 'scheduled run enqueued' || l.msg === 'slot already enqueued'),
        ).length;
        expect(ids.length).toBeGreaterThanOrEqual(2);
        expect(ids.every((id) => /^[a-z]+-(full-)?sched-\d{8}T\d{6}Z$/.test(id))).toBe(true);
        // Each slot was tried by both schedulers but holds one job (a boundary slot may be seen by one).
        expect(tries).toBeGreaterThanOrEqual(2 * ids.length - 2);
        expect(tries).toBeLessThanOrEqual(2 * ids.length);
      }
    } finally {
      await queues[0]?.obliterate({ force: true });
      for (const q of queues) await q.close();
    }
  });
});

describe('CLI arguments', () => {
  it('names jobs and refuses bad input clearly', () => {
    expect(jobsFor('all')).toEqual(['followers', 'blacklist', 'datacube', 'publisher', 'tags']);
    expect(() => jobsFor('everything')).toThrow(/unknown sync "everything"/);
    expect(() => payloadsFor(['followers'], { from: '2026-01-01' })).toThrow(/datacube and publisher only/);
    expect(() => payloadsFor(['datacube'], { from: '2026-01-10', to: '2026-01-01' })).toThrow(InputError);
    expect(() => payloadsFor(['datacube'], { from: '2026-13-01' })).toThrow(/real date/);
    expect(payloadsFor(['followers', 'datacube'], { from: '2026-01-01', to: '2026-01-03' })).toEqual([
      { name: 'followers', payload: { trigger: 'cli' } },
      { name: 'datacube', payload: { trigger: 'cli', from: '2026-01-01', to: '2026-01-03' } },
    ]);
  });

  it('`wxsync sync` refuses a bad date with exit code 1 and a clear message', async () => {
    const r = await env.cli(['sync', 'datacube', '--from', '2026-02-30']);
    expect(r.code).toBe(1);
    expect(r.output).toContain('--from must be a real date in YYYY-MM-DD form');
  });

  it('`wxsync sync blacklist` enqueues, follows the worker and prints a summary', async () => {
    const worker = createSyncWorker(env.deps, { connection: env.connection({ worker: true }) });
    try {
      const r = await env.cli(['sync', 'blacklist']);
      expect(r.output).toMatch(/blacklist: enqueued job blacklist-cli-/);
      expect(r.output).toMatch(/blacklist\s+ok\s+run #\d+/);
      expect(r.output).toContain('all succeeded');
      expect(r.code).toBe(0);
    } finally {
      await worker.close();
    }
  });

  it('`wxsync runs` prints recent runs as a table', async () => {
    const table = formatRunsTable(await listRuns(env.t.db, { limit: 10 }));
    const lines = table.split('\n');
    expect(lines[0]).toMatch(
      /^id\s+job\s+status\s+trigger\s+started\s+took\s+tries\s+next\s+params\s+counts/,
    );
    expect(table).toMatch(/followers\s+succeeded\s+test/);
    expect(table).toMatch(/datacube\s+failed\s+test.*error: .*up to yesterday/);
  });
});
