/**
 * Runs one sync job the same way whoever asked (BullMQ worker or `wxsync sync --inline`):
 * validate the payload, take the job's lock (one run at a time), open or resume its sync_runs row,
 * run the handler, record the outcome and the metrics. A 'running' row found while holding the lock
 * belongs to a process that died: it is resumed when its parameters match, otherwise closed as
 * abandoned.
 */
import type { Db } from '../src/db/client.ts';
import {
  findRunningRuns,
  finishRun,
  noteRetry,
  type RunCounts,
  resumeRun,
  type SyncRunRow,
  saveCheckpoint,
  startRun,
} from '../src/db/sync-runs.ts';
import { ConflictError } from '../src/errors.ts';
import { lastSuccessfulRun } from '../src/metrics.ts';
import { safeErrorMessage } from '../src/safe-error.ts';
import { type ProgressFn, parsePayload, type SyncResult } from '../src/sync/contract.ts';
import { acquireLock, lockHolder } from './lock.ts';
import type { AnySyncJob, RunHandle, SyncDeps } from './types.ts';

export interface RunOptions {
  progress?: ProgressFn;
  /** How long to wait for the job's lock (0: refuse at once). */
  lockWaitMs?: number;
  /**
   * Whether the caller (BullMQ) will try this failure again. If so the run stays 'running' with the
   * error noted, and the next attempt resumes it from its checkpoint instead of starting over.
   */
  willRetry?: (error: unknown) => boolean;
}

/** A dead run is resumed only if it started this recently (a 1M-follower sync takes minutes). */
export const RESUME_WITHIN_MS = 6 * 3600_000;

export const lockKeyOf = (prefix: string, job: string) => `${prefix}:sync-lock:${job}`;

/** Parameters compare equal whatever order jsonb gave their keys back in. */
const canonical = (v: Record<string, unknown>) =>
  JSON.stringify(Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))));

async function conflict(job: AnySyncJob, deps: SyncDeps): Promise<ConflictError> {
  const [running] = await findRunningRuns(deps.db, job.name);
  const holder = await lockHolder(deps.redis, lockKeyOf(deps.config.QUEUE_PREFIX, job.name));
  const which = running
    ? `run #${running.id}, started ${running.startedAt.toISOString()} by ${running.trigger}`
    : 'starting up';
  const where = holder ? ` in ${holder.owner}` : '';
  return new ConflictError(
    `a ${job.name} sync is already running (${which}${where}); wait for it (wxsync runs --job ${job.name}) ` +
      `or follow it with wxsync sync ${job.name}`,
  );
}

async function openRun(
  db: Db,
  job: AnySyncJob,
  params: Record<string, unknown>,
  trigger: string,
  now: Date,
): Promise<{ row: SyncRunRow; resumed: boolean }> {
  const stale = await findRunningRuns(db, job.name);
  const [newest, ...older] = stale;
  // A run too old to resume would keep stale profiles it confirmed then, and never flag the users
  // who left since: start over instead.
  const fresh = newest && now.getTime() - newest.startedAt.getTime() < RESUME_WITHIN_MS;
  const resumable = fresh && canonical(newest.params) === canonical(params) ? newest : undefined;
  const row = resumable
    ? await resumeRun(db, resumable.id)
    : await startRun(db, { job: job.name, params, trigger, startedAt: now });
  for (const s of resumable ? older : stale) {
    await finishRun(db, s.id, {
      status: 'failed',
      counts: s.counts,
      error: `abandoned: the process running it stopped; run #${row.id} took over`,
    });
  }
  return { row, resumed: resumable !== undefined };
}

export async function runSyncJob(
  job: AnySyncJob,
  rawPayload: unknown,
  deps: SyncDeps,
  options: RunOptions = {},
): Promise<SyncResult> {
  const payload = parsePayload(job, rawPayload) as { trigger?: string };
  const now = deps.now?.() ?? new Date();
  const params = job.resolve(payload, now) as Record<string, unknown>;
  const lock = await acquireLock(deps.redis, lockKeyOf(deps.config.QUEUE_PREFIX, job.name), {
    ttlMs: deps.config.SYNC_LOCK_TTL_S * 1000,
    waitMs: options.lockWaitMs ?? 0,
  });
  if (!lock) throw await conflict(job, deps);

  const started = Date.now();
  let runId: number | undefined;
  let lastCounts: RunCounts = {};
  const log = deps.log.child({ job: job.name });
  try {
    const { row, resumed } = await openRun(
      deps.db,
      job,
      params,
      payload.trigger ?? 'cli',
      deps.now?.() ?? new Date(),
    );
    runId = row.id;
    const id = row.id;
    log.info(
      { runId: id, params, resumed, attempt: row.attempts },
      resumed ? 'sync resumed' : 'sync started',
    );
    lastCounts = row.counts;
    const handle: RunHandle = {
      id,
      startedAt: row.startedAt,
      attemptStartedAt: new Date(),
      attempts: row.attempts,
      resumed,
      checkpoint: resumed ? row.checkpoint : null,
      async saveCheckpoint(checkpoint, counts) {
        lock.signal.throwIfAborted();
        lastCounts = counts;
        await saveCheckpoint(deps.db, id, checkpoint, counts);
      },
    };
    const counts = await job.run({
      payload: params,
      deps,
      run: handle,
      log: log.child({ runId: id }),
      signal: lock.signal,
      progress(phase, done, total, c) {
        lastCounts = c;
        options.progress?.({ job: job.name, runId: id, phase, done, total, counts: { ...c } });
      },
    });
    lock.signal.throwIfAborted();
    const finished = await finishRun(deps.db, id, { status: 'succeeded', counts });
    lastSuccessfulRun.set({ job: job.name }, (finished.finishedAt ?? new Date()).getTime() / 1000);
    const durationMs = Date.now() - started;
    log.info({ runId: id, counts, durationMs }, 'sync succeeded');
    return { job: job.name, runId: id, params, resumed, attempts: row.attempts, counts, durationMs };
  } catch (error) {
    if (lock.signal.aborted) {
      // Another process holds the job now and may have resumed this very row: leave it to them.
      throw new ConflictError(`${job.name} sync lost its lock mid-run; another worker took the job over`);
    }
    if (runId !== undefined && options.willRetry?.(error)) {
      const message = safeErrorMessage(error);
      await noteRetry(deps.db, runId, `attempt failed, will be retried: ${message}`).catch(() => undefined);
      log.warn({ runId, error: message }, 'sync attempt failed; it will be retried and resume');
    } else if (runId !== undefined) {
      const message = safeErrorMessage(error);
      await finishRun(deps.db, runId, { status: 'failed', counts: lastCounts, error: message }).catch((e) =>
        log.error({ err: safeErrorMessage(e) }, 'could not record the failed run'),
      );
      log.error({ runId, error: message }, 'sync failed');
    }
    throw error;
  } finally {
    await lock.release();
  }
}
