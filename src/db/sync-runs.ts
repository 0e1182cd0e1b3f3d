/**
 * The `sync_runs` audit trail: one row per run of a sync job. A run that a dead worker left
 * 'running' is resumed (attempts + 1, same row, same checkpoint) by the next holder of the job's
 * lock, so the row always describes the whole run, however many processes it took.
 */
import type { Prisma } from '../generated/prisma/client.ts';
import type { Db } from './client.ts';

/** Counters of a run (pages, profiles, rows written...) plus a few string notes (clippedTo...). */
export type RunCounts = Record<string, number | string>;

export interface SyncRunRow {
  id: number;
  job: string;
  params: Record<string, unknown>;
  trigger: string;
  status: 'running' | 'succeeded' | 'failed';
  startedAt: Date;
  finishedAt: Date | null;
  counts: RunCounts;
  error: string | null;
  checkpoint: unknown;
  attempts: number;
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

/** Runs of `job` still marked running, newest first (only stale ones once the caller holds the job's lock). */
export async function findRunningRuns(db: Db, job: string): Promise<SyncRunRow[]> {
  const rows = await db.syncRun.findMany({
    where: { job, status: 'running' },
    orderBy: { startedAt: 'desc' },
  });
  return rows.map(toRow);
}

/** Takes over a stale run: one more attempt on the same row, checkpoint kept. */
export async function resumeRun(db: Db, id: number): Promise<SyncRunRow> {
  const row = await db.syncRun.update({
    where: { id: BigInt(id) },
    data: { attempts: { increment: 1 }, error: null },
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
    },
  });
  return toRow(row);
}

/** A failed attempt that will be retried: the run stays 'running' (to be resumed), the error is kept. */
export async function noteRetry(db: Db, id: number, error: string): Promise<void> {
  await db.syncRun.update({ where: { id: BigInt(id) }, data: { error } });
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
