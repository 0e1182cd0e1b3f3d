/**
 * The BullMQ worker of the `sync` queue: dispatches on job.name through the registry, safeParses
 * the payload (in runSyncJob), reports progress, and maps errors once: retryable -> rethrown for
 * BullMQ's retry (the next attempt resumes the run from its checkpoint), permanent ->
 * UnrecoverableError. A job that stalls because its worker died is retried by BullMQ and resumes
 * the same sync_runs row the same way.
 */
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { jobDuration } from '../src/metrics.ts';
import { QUEUE_NAMES } from '../src/queues.ts';
import { safeErrorMessage } from '../src/safe-error.ts';
import type { SyncProgress, SyncResult } from '../src/sync/contract.ts';
import { isRetryable, toJobError } from './job-error.ts';
import { findSyncJob } from './registry.ts';
import { runSyncJob } from './runner.ts';
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
}

export function createSyncWorker(deps: SyncDeps, options: SyncWorkerOptions): Worker {
  const processor = async (job: Job): Promise<SyncResult> => {
    const def = findSyncJob(job.name);
    if (!def) throw new UnrecoverableError(`unknown sync job "${job.name}"`);
    const stop = jobDuration.startTimer({ queue: QUEUE_NAMES.sync, name: job.name });
    let lastProgress = 0;
    try {
      const result = await runSyncJob(def, job.data, deps, {
        // A retried stalled job finds the dead worker's lock until it expires: wait that long.
        lockWaitMs: deps.config.SYNC_LOCK_TTL_S * 1000 + 1_000,
        willRetry: (error) => isRetryable(error) && job.attemptsMade + 1 < (job.opts.attempts ?? 1),
        progress: (p: SyncProgress) => {
          const now = Date.now();
          if (now - lastProgress < (options.progressEveryMs ?? 500) && p.phase !== 'done') return;
          lastProgress = now;
          job.updateProgress({ ...p }).catch(() => undefined);
        },
      });
      stop({ outcome: 'succeeded' });
      return result;
    } catch (error) {
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
  return worker;
}
