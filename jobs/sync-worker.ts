/**
 * The BullMQ worker of the `sync` queue: dispatches on job.name through the registry, safeParses
 * the payload (in runSyncJob), reports progress, and maps outcomes once:
 *
 * - another run of the job holds its lock (a request queued behind it): the job goes back to the
 *   delayed set and tries again shortly (DelayedError: not an attempt), so one run at a time stays
 *   and nothing queued is dropped;
 * - retryable failure -> rethrown for BullMQ's retry; the run is 'retrying' (with the next attempt's
 *   time) and the job data names the run, so the next attempt resumes it from its checkpoint;
 * - 45009 (daily quota used up) -> the run is 'paused' and a delayed resume job
 *   (`<job>-resume-<run>`) is added for 00:05 Beijing time; this job completes with status 'paused';
 * - planned calls exceed today's quota -> the run is recorded 'skipped'; the job completes with it;
 * - permanent failure -> UnrecoverableError.
 *
 * A job that stalls because its worker died is retried by BullMQ and resumes the same sync_runs row.
 */
import { DelayedError, type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { jobDuration } from '../src/metrics.ts';
import { QUEUE_NAMES } from '../src/queues.ts';
import { watchErrors } from '../src/redis.ts';
import { safeErrorMessage } from '../src/safe-error.ts';
import type { SyncProgress, SyncResult } from '../src/sync/contract.ts';
import { enqueueResume } from '../src/sync/queue.ts';
import { QuotaShortError, SyncPausedError, stoppedResult } from '../src/sync/quota.ts';
import type { SyncJobName } from '../src/sync/registry.ts';
import { isRetryable, toJobError } from './job-error.ts';
import { findSyncJob } from './registry.ts';
import { JobBusyError, runSyncJob } from './runner.ts';
import type { SyncDeps } from './types.ts';

export interface SyncWorkerOptions {
  /** A `worker`-role connection (maxRetriesPerRequest: null); BullMQ blocks on it. */
  connection: Redis;
  /** Different jobs may run side by side (followers and blacklist both start at 02:00). */
  concurrency?: number;
  /** BullMQ job lock; a killed worker's job is seen as stalled after it (tests shorten it). */
  lockDuration?: number;
  stalledInterval?: number;
  /** Minimum spacing of progress updates written to Redis. */
  progressEveryMs?: number;
  /** How long a job queued behind a running one of the same name waits before it looks again. */
  busyRecheckMs?: number;
}

/** When BullMQ's exponential backoff will start the next attempt after a failure now. */
function nextAttemptTime(job: Job): Date {
  const backoff = job.opts.backoff;
  const delay = typeof backoff === 'number' ? backoff : (backoff?.delay ?? 0);
  const exponential = typeof backoff === 'object' && backoff.type === 'exponential';
  // BullMQ: delay * 2^(attemptsMade - 1), attemptsMade counting the attempt failing now.
  return new Date(Date.now() + (exponential ? delay * 2 ** job.attemptsMade : delay));
}

export function createSyncWorker(deps: SyncDeps, options: SyncWorkerOptions): Worker {
  // Producer side for resume jobs, on the worker's own connection (adds are not blocking calls).
  const queue = new Queue(QUEUE_NAMES.sync, {
    connection: options.connection,
    prefix: deps.config.QUEUE_PREFIX,
  });
  // Its errors (Redis refusing the connection) are logged redacted, like every other connection's.
  watchErrors(queue, 'queue sync (resume jobs)', deps.log);
  const processor = async (job: Job, token?: string): Promise<SyncResult> => {
    const def = findSyncJob(job.name);
    if (!def) throw new UnrecoverableError(`unknown sync job "${job.name}"`);
    const stop = jobDuration.startTimer({ queue: QUEUE_NAMES.sync, name: job.name });
    let lastProgress = 0;
    try {
      const result = await runSyncJob(def, job.data, deps, {
        retryAt: (error, runId) => {
          if (!isRetryable(error) || job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) return undefined;
          // The next attempt resumes this run (not a run some later request started meanwhile).
          return job.updateData({ ...job.data, resumeRun: runId }).then(() => nextAttemptTime(job));
        },
        progress: (p: SyncProgress) => {
          const now = Date.now();
          if (now - lastProgress < (options.progressEveryMs ?? 500) && p.phase !== 'done') return;
          lastProgress = now;
          job.updateProgress({ ...p }).catch(() => undefined);
        },
      });
      stop({ outcome: result.status === 'noop' ? 'noop' : 'succeeded' });
      return result;
    } catch (error) {
      if (error instanceof JobBusyError) {
        // Queued behind the run that holds the job (or a dead worker's lock, until it expires).
        stop({ outcome: 'delayed' });
        await job.moveToDelayed(Date.now() + (options.busyRecheckMs ?? 2_000), token);
        throw new DelayedError();
      }
      if (error instanceof SyncPausedError) {
        stop({ outcome: 'paused' });
        const id = await enqueueResume(queue, job.name as SyncJobName, job.data, error);
        deps.log.warn(
          { jobId: job.id, resumeJobId: id, resumeAt: error.resumeAt },
          'sync paused until the quota reset',
        );
        return stoppedResult(job.name, error, id);
      }
      if (error instanceof QuotaShortError) {
        // Recorded as skipped; the next scheduled run (or --force) tries again. Not a job failure.
        stop({ outcome: 'skipped' });
        return stoppedResult(job.name, error);
      }
      stop({ outcome: 'failed' });
      throw toJobError(error);
    }
  };
  const worker = new Worker(QUEUE_NAMES.sync, processor, {
    connection: options.connection,
    prefix: deps.config.QUEUE_PREFIX,
    concurrency: options.concurrency ?? 2,
    lockDuration: options.lockDuration ?? 30_000,
    stalledInterval: options.stalledInterval ?? 30_000,
    maxStalledCount: 2,
  });
  worker.on('failed', (job, error) => {
    deps.log.warn({ jobId: job?.id, job: job?.name, error: safeErrorMessage(error) }, 'sync job failed');
  });
  worker.on('error', (error) => deps.log.error({ error: safeErrorMessage(error) }, 'sync worker error'));
  worker.on('closed', () => void queue.close().catch(() => undefined));
  return worker;
}
