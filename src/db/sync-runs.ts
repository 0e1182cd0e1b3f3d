/**
 * The `sync_runs` audit trail: one row per run of a sync job. A run still open (running, retrying
 * or paused: see OPEN_STATUSES) is resumed (attempts + 1, same row, same checkpoint) by the next
 * holder of the job's lock, so the row always describes the whole run, however many attempts and
 * processes it took.
 */
import type { Prisma } from '../generated/prisma/client.ts';
import type { SyncStatus } from '../generated/prisma/enums.ts';
import type { Db } from './client.ts';

export type { SyncStatus };

/**
 * Runs not ended yet: at work (running), waiting for BullMQ's next attempt (retrying), or waiting
 * for WeChat's daily quota to reset (paused). The next attempt with the same parameters resumes them.
 */
export const OPEN_STATUSES = ['running', 'retrying', 'paused'] as const satisfies readonly SyncStatus[];

/** Counters of a run (pages, profiles, rows written...) plus a few string notes (clippedTo...). */
export type RunCounts = Record<string, number | string>;

export interface SyncRunRow {
  id: number;
  job: string;
  params: Record<string, unknown>;
  trigger: string;
  status: SyncStatus;
  startedAt: Date;
  finishedAt: Date | null;
  counts: RunCounts;
  error: string | null;
  checkpoint: unknown;
  attempts: number;
  /** When a retrying run's next attempt, or a paused run's resume, is due. */
  nextAttemptAt: Date | null;
}

type Row = Awaited<ReturnType<Db['syncRun']['findFirstOrThrow']>>;

const toRow = (r: Row): SyncRunRow => ({
  id: Number(r.id),
  job: r.job,
  params: (r.params ?? {}) as Record<string, unknown>,
  trigger: r.trigger,
  status: r.status,
  startedAt: r.startedAt,
  finishedAt: r.finishedAt,
  counts: (r.counts ?? {}) as RunCounts,
  error: r.error,
  checkpoint: r.checkpoint,
  attempts: r.attempts,
  nextAttemptAt: r.nextAttemptAt,
});

const json = (v: unknown) => v as Prisma.InputJsonValue;

export async function startRun(
  db: Db,
  run: { job: string; params: Record<string, unknown>; trigger: string; startedAt?: Date },
): Promise<SyncRunRow> {
  const row = await db.syncRun.create({
    data: {
      job: run.job,
      params: json(run.params),
      trigger: run.trigger,
      startedAt: run.startedAt ?? new Date(),
    },
  });
  return toRow(row);
}

/**
 * Open runs of `job` (running, retrying, paused), newest first. Once the caller holds the job's
 * lock, none of them is at work: they are what its attempt may resume.
 */
export async function findOpenRuns(db: Db, job: string): Promise<SyncRunRow[]> {
  const rows = await db.syncRun.findMany({
    where: { job, status: { in: [...OPEN_STATUSES] } },
    orderBy: { startedAt: 'desc' },
  });
  return rows.map(toRow);
}

/** Takes over an open run: one more attempt on the same row, checkpoint kept, running again. */
export async function resumeRun(db: Db, id: number): Promise<SyncRunRow> {
  const row = await db.syncRun.update({
    where: { id: BigInt(id) },
    data: { attempts: { increment: 1 }, error: null, status: 'running', nextAttemptAt: null },
  });
  return toRow(row);
}

export async function saveCheckpoint(
  db: Db,
  id: number,
  checkpoint: unknown,
  counts: RunCounts,
): Promise<void> {
  await db.syncRun.update({
    where: { id: BigInt(id) },
    data: { checkpoint: json(checkpoint), counts: json(counts) },
  });
}

/** Ends a run. `error` must already be safe to show (no secrets): callers pass WxsyncError messages. */
export async function finishRun(
  db: Db,
  id: number,
  outcome: { status: 'succeeded' | 'failed'; counts: RunCounts; error?: string; finishedAt?: Date },
): Promise<SyncRunRow> {
  const row = await db.syncRun.update({
    where: { id: BigInt(id) },
    data: {
      status: outcome.status,
      counts: json(outcome.counts),
      error: outcome.error ?? null,
      finishedAt: outcome.finishedAt ?? new Date(),
      nextAttemptAt: null,
    },
  });
  return toRow(row);
}

/**
 * A failed attempt that BullMQ will try again at `nextAttemptAt`: the run is 'retrying' (not at
 * work, to be resumed from its checkpoint), its error kept.
 */
export async function noteRetry(
  db: Db,
  id: number,
  retry: { error: string; nextAttemptAt: Date | null; counts: RunCounts },
): Promise<void> {
  await db.syncRun.update({
    where: { id: BigInt(id) },
    data: {
      status: 'retrying',
      error: retry.error,
      nextAttemptAt: retry.nextAttemptAt,
      counts: json(retry.counts),
    },
  });
}

/**
 * WeChat's daily quota ran out mid-run: the run is 'paused' with its checkpoint, to be resumed at
 * `resumeAt` (after the reset) or by any earlier attempt with the same parameters.
 */
export async function pauseRun(
  db: Db,
  id: number,
  pause: { error: string; resumeAt: Date; counts: RunCounts },
): Promise<SyncRunRow> {
  const row = await db.syncRun.update({
    where: { id: BigInt(id) },
    data: { status: 'paused', error: pause.error, nextAttemptAt: pause.resumeAt, counts: json(pause.counts) },
  });
  return toRow(row);
}

/**
 * Records a run that did not start (its planned WeChat calls exceed the remaining daily quota):
 * status 'skipped', the reason in `error`, the estimate and the quota figures in `counts`.
 */
export async function recordSkippedRun(
  db: Db,
  run: { job: string; params: Record<string, unknown>; trigger: string; error: string; counts: RunCounts },
): Promise<SyncRunRow> {
  const now = new Date();
  const row = await db.syncRun.create({
    data: {
      job: run.job,
      params: json(run.params),
      trigger: run.trigger,
      status: 'skipped',
      startedAt: now,
      finishedAt: now,
      error: run.error,
      counts: json(run.counts),
    },
  });
  return toRow(row);
}

export async function listRuns(db: Db, filter: { job?: string; limit?: number } = {}): Promise<SyncRunRow[]> {
  const rows = await db.syncRun.findMany({
    where: filter.job ? { job: filter.job } : {},
    orderBy: [{ startedAt: 'desc' }, { id: 'desc' }],
    take: filter.limit ?? 20,
  });
  return rows.map(toRow);
}

export async function getRun(db: Db, id: number): Promise<SyncRunRow | null> {
  const row = await db.syncRun.findUnique({ where: { id: BigInt(id) } });
  return row ? toRow(row) : null;
}

/** When each job last succeeded (epoch seconds), for the last-success gauge. */
export async function lastSuccessPerJob(db: Db): Promise<{ job: string; at: number }[]> {
  return db.$queryRaw<{ job: string; at: number }[]>`
    SELECT job, extract(epoch FROM max(finished_at))::float8 AS at
    FROM sync_runs WHERE status = 'succeeded' AND finished_at IS NOT NULL GROUP BY job`;
}

/**
 * The `perJob` newest runs of every job, grouped by job, newest first within a job. The window picks
 * the ids; the rows come through the model, so every column (and any a migration adds) arrives.
 */
export async function lastRunsPerJob(db: Db, perJob: number): Promise<SyncRunRow[]> {
  const picked = await db.$queryRaw<{ id: bigint }[]>`
    SELECT id FROM (
      SELECT id, row_number() OVER (PARTITION BY job ORDER BY started_at DESC, id DESC) AS n FROM sync_runs
    ) r WHERE n <= ${perJob}`;
  const rows = await db.syncRun.findMany({
    where: { id: { in: picked.map((r) => r.id) } },
    orderBy: [{ job: 'asc' }, { startedAt: 'desc' }, { id: 'desc' }],
  });
  return rows.map(toRow);
}

/** When the last successful run of `job` ended, null if none has. */
export async function lastSucceededAt(db: Db, job: string): Promise<Date | null> {
  const row = await db.syncRun.findFirst({
    where: { job, status: 'succeeded' },
    orderBy: { finishedAt: 'desc' },
    select: { finishedAt: true },
  });
  return row?.finishedAt ?? null;
}

/**
 * The last value a run of `job` recorded for the numeric counter `key` (the follower total WeChat
 * reported, for planning the next run), or undefined when no run recorded one.
 */
export async function lastRunCounter(db: Db, job: string, key: string): Promise<number | undefined> {
  const [row] = await db.$queryRaw<{ value: number | null }[]>`
    SELECT (counts ->> ${key})::float8 AS value FROM sync_runs
    WHERE job = ${job} AND jsonb_typeof(counts -> ${key}) = 'number' AND (counts ->> ${key})::float8 > 0
    ORDER BY started_at DESC, id DESC LIMIT 1`;
  return row?.value ?? undefined;
}
