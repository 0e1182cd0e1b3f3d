/**
 * Runs one sync job the same way whoever asked (BullMQ worker or `wxsync sync --inline`):
 * validate the payload, take the job's lock (one run at a time), plan the run against WeChat's
 * daily quotas, open or resume its sync_runs row, run the handler, record the outcome and the
 * metrics.
 *
 * Run states (sync_runs.status): running while an attempt works; retrying when an attempt failed
 * and BullMQ will try again (next_attempt_at); paused when WeChat answered 45009 (daily quota used
 * up): the checkpoint is kept and the run resumes after the reset; succeeded; failed when no attempt
 * is left; skipped when the planned calls did not fit in today's remaining quota (never started).
 * An open run (running, retrying, paused) found while holding the lock is resumed when its
 * parameters match. A 'running' one that does not match belongs to a process that died and is
 * closed as abandoned; retrying and paused ones wait for their own next attempt.
 */
import { z } from 'zod';
import type { Db } from '../src/db/client.ts';
import {
  findOpenRuns,
  finishRun,
  getRun,
  noteRetry,
  OPEN_STATUSES,
  pauseRun,
  type RunCounts,
  recordSkippedRun,
  resumeRun,
  type SyncRunRow,
  saveCheckpoint,
  startRun,
} from '../src/db/sync-runs.ts';
import { ConflictError } from '../src/errors.ts';
import { lastSuccessfulRun } from '../src/metrics.ts';
import { safeErrorMessage } from '../src/safe-error.ts';
import { type ProgressFn, parsePayload, runIdentity, type SyncResult } from '../src/sync/contract.ts';
import {
  beijingClock,
  type CallEstimate,
  checkQuota,
  describeShortfall,
  planCounts,
  QuotaShortError,
  resumeTimeAfter,
  SyncPausedError,
} from '../src/sync/quota.ts';
import { isQuotaExhausted, WeChatError } from '../src/wechat/errors.ts';
import { type RemainingQuota, remainingQuota } from '../src/wechat/quota.ts';
import { acquireLock, lockHolder } from './lock.ts';
import type { AnySyncJob, RunHandle, SyncDeps } from './types.ts';

export interface RunOptions {
  progress?: ProgressFn;
  /** How long to wait for the job's lock (0: refuse at once). */
  lockWaitMs?: number;
  /**
   * When the caller (BullMQ) will try this failure again, or undefined when it will not. If it
   * will, the run is 'retrying' with the error and that time, and the next attempt resumes it from
   * its checkpoint instead of starting over; otherwise it is 'failed'.
   */
  retryAt?: (error: unknown, runId: number) => Date | undefined | Promise<Date | undefined>;
}

/** A dead run is resumed only if it started this recently (a 1M-follower sync takes minutes). */
export const RESUME_WITHIN_MS = 6 * 3600_000;
/** A paused run waits for the next quota reset, up to a day away: it stays resumable longer. */
export const RESUME_PAUSED_WITHIN_MS = 48 * 3600_000;

export const lockKeyOf = (prefix: string, job: string) => `${prefix}:sync-lock:${job}`;

/**
 * What the queue adds to a payload besides the job's own fields: `resumeRun` ties an attempt to
 * one sync_runs row (the delayed resume of a paused run, BullMQ's retry of a failed attempt), so it
 * resumes that run with that run's own parameters, or does nothing if the run already ended.
 */
export const RunRequest = z.object({ resumeRun: z.number().int().positive().optional() });

/** Another process holds the job's lock: this request must wait for that run (the worker queues it behind). */
export class JobBusyError extends ConflictError {}

async function busy(job: AnySyncJob, deps: SyncDeps): Promise<JobBusyError> {
  const [running] = (await findOpenRuns(deps.db, job.name)).filter((r) => r.status === 'running');
  const holder = await lockHolder(deps.redis, lockKeyOf(deps.config.QUEUE_PREFIX, job.name));
  const which = running
    ? `run #${running.id}, started ${running.startedAt.toISOString()} by ${running.trigger}`
    : 'starting up';
  const where = holder ? ` in ${holder.owner}` : '';
  return new JobBusyError(
    `a ${job.name} sync is already running (${which}${where}); wait for it (wxsync runs --job ${job.name}) ` +
      `or follow it with wxsync sync ${job.name}`,
  );
}

/** The newest open run this request continues: same identity, recent enough. */
function resumableRun(
  job: AnySyncJob,
  open: SyncRunRow[],
  params: Record<string, unknown>,
  now: Date,
): SyncRunRow | undefined {
  const identity = runIdentity(job, params);
  return open.find((r) => {
    const within = r.status === 'paused' ? RESUME_PAUSED_WITHIN_MS : RESUME_WITHIN_MS;
    // A run too old to resume would keep stale profiles it confirmed then, and never flag the
    // users who left since: start over instead.
    return now.getTime() - r.startedAt.getTime() < within && runIdentity(job, r.params) === identity;
  });
}

async function openRun(
  db: Db,
  job: AnySyncJob,
  target: { resume?: SyncRunRow; params: Record<string, unknown>; trigger: string; now: Date },
  open: SyncRunRow[],
): Promise<{ row: SyncRunRow; resumed: boolean }> {
  const row = target.resume
    ? await resumeRun(db, target.resume.id)
    : await startRun(db, {
        job: job.name,
        params: target.params,
        trigger: target.trigger,
        startedAt: target.now,
      });
  // 'running' rows other than the one resumed were left by processes that died (we hold the lock).
  for (const s of open) {
    if (s.id === target.resume?.id || s.status !== 'running') continue;
    await finishRun(db, s.id, {
      status: 'failed',
      counts: s.counts,
      error: `abandoned: the process running it stopped; run #${row.id} took over`,
    });
  }
  return { row, resumed: target.resume !== undefined };
}

/**
 * Compares the run's planned WeChat calls with today's remaining quotas (less the headroom). When
 * they do not fit: a run that would be new is recorded as skipped; an open run stays as it is.
 */
async function checkPlan(
  job: AnySyncJob,
  deps: SyncDeps,
  target: { resume?: SyncRunRow; params: Record<string, unknown>; trigger: string },
  log: SyncDeps['log'],
): Promise<void> {
  if (!job.plan) return;
  let estimates: CallEstimate[];
  let quota: RemainingQuota;
  try {
    estimates = await job.plan({
      payload: target.params,
      deps,
      checkpoint: target.resume?.checkpoint ?? null,
      log,
    });
    quota = await remainingQuota(
      deps.wechat,
      estimates.map((e) => e.path),
    );
  } catch (error) {
    // WeChat would not tell (busy, 45009 on the first page, quota/get refused): the run starts
    // unplanned. Its own calls retry, pause or fail as they would anyway.
    if (!(error instanceof WeChatError)) throw error;
    log.warn({ error: error.message }, 'quota plan unavailable: the run starts without one');
    return;
  }
  const plan = checkQuota(estimates, quota.quotas, deps.config.WECHAT_QUOTA_HEADROOM, quota.unknown);
  const figures = { estimates, checks: plan.checks, unknown: plan.unknown };
  if (plan.short.length === 0) {
    log.info(figures, 'quota plan: the run fits in what is left today');
    return;
  }
  const reason =
    `not started: today's WeChat quota is short: ${describeShortfall(plan)}. ` +
    `It resets at 00:00 Beijing time; start it anyway with --force (admin API: {"force": true})`;
  log.warn(figures, reason);
  if (target.resume) {
    throw new QuotaShortError(`${job.name} run #${target.resume.id} ${reason}`, target.resume.id, plan);
  }
  const skipped = await recordSkippedRun(deps.db, {
    job: job.name,
    params: target.params,
    trigger: target.trigger,
    error: reason,
    counts: planCounts(plan),
  });
  throw new QuotaShortError(`${job.name} run #${skipped.id} ${reason}`, skipped.id, plan);
}

export async function runSyncJob(
  job: AnySyncJob,
  rawPayload: unknown,
  deps: SyncDeps,
  options: RunOptions = {},
): Promise<SyncResult> {
  const payload = parsePayload(job, rawPayload) as { trigger?: string };
  const request = RunRequest.parse(
    typeof rawPayload === 'object' && rawPayload !== null
      ? { resumeRun: (rawPayload as Record<string, unknown>).resumeRun }
      : {},
  );
  const clock = () => deps.now?.() ?? new Date();
  const now = clock();
  const trigger = payload.trigger ?? 'cli';
  const forced = job.requestFlags?.(payload).force === true;
  const lock = await acquireLock(deps.redis, lockKeyOf(deps.config.QUEUE_PREFIX, job.name), {
    ttlMs: deps.config.SYNC_LOCK_TTL_S * 1000,
    waitMs: options.lockWaitMs ?? 0,
  });
  if (!lock) throw await busy(job, deps);

  const started = Date.now();
  let runId: number | undefined;
  let lastCounts: RunCounts = {};
  const log = deps.log.child({ job: job.name });
  try {
    const open = await findOpenRuns(deps.db, job.name);
    let params: Record<string, unknown>;
    let resume: SyncRunRow | undefined;
    if (request.resumeRun !== undefined) {
      const target = await getRun(deps.db, request.resumeRun);
      if (
        !target ||
        target.job !== job.name ||
        !(OPEN_STATUSES as readonly string[]).includes(target.status)
      ) {
        // An earlier request resumed and finished it (or it never existed): nothing left to do.
        log.info({ runId: request.resumeRun, status: target?.status }, 'resume: the run is no longer open');
        return {
          job: job.name,
          runId: request.resumeRun,
          params: target?.params ?? {},
          resumed: false,
          attempts: target?.attempts ?? 0,
          counts: target?.counts ?? {},
          durationMs: Date.now() - started,
          status: 'noop',
        };
      }
      params = target.params;
      resume = target;
    } else {
      params = job.resolve(payload, now) as Record<string, unknown>;
      resume = resumableRun(job, open, params, now);
    }
    if (forced) log.warn({ params }, 'quota plan skipped: forced');
    else await checkPlan(job, deps, { resume, params, trigger }, log);

    const { row, resumed } = await openRun(deps.db, job, { resume, params, trigger, now: clock() }, open);
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
    if (runId === undefined) throw error;
    if (isQuotaExhausted(error)) {
      // Another call today would answer 45009 again: keep the checkpoint, resume after the reset.
      const resumeAt = resumeTimeAfter(error.resetAt);
      const message =
        `paused: ${error.message}. Resumes from its checkpoint after the reset, at ` +
        `${beijingClock(resumeAt)} Beijing time (${resumeAt.toISOString()}), or with any earlier request for this run`;
      await pauseRun(deps.db, runId, { error: message, resumeAt, counts: lastCounts });
      log.warn(
        { runId, endpoint: error.endpoint, rid: error.rid, resumeAt },
        'sync paused: daily quota used up',
      );
      throw new SyncPausedError(`${job.name} run #${runId} ${message}`, runId, resumeAt);
    }
    const message = safeErrorMessage(error);
    const retryAt = await Promise.resolve(options.retryAt?.(error, runId)).catch(() => undefined);
    if (retryAt) {
      await noteRetry(deps.db, runId, {
        error: `attempt failed, will be retried at ${retryAt.toISOString()}: ${message}`,
        nextAttemptAt: retryAt,
        counts: lastCounts,
      }).catch(() => undefined);
      log.warn({ runId, error: message, retryAt }, 'sync attempt failed; it will be retried and resume');
    } else {
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
