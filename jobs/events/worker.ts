/**
 * The worker of the `events` queue: runs processEventJob for up to `concurrency` jobs at once,
 * their pushes applied together through one PushBatcher, logs failures, hands failed pushes back.
 */
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { EventJobSpec } from '../../src/events/jobs.ts';
import { openQueue, QUEUE_NAMES } from '../../src/queues.ts';
import { applyPushes } from './apply.ts';
import { PushBatcher } from './batcher.ts';
import { type EventJobDeps, processEventJob } from './processor.ts';

export interface EventWorker {
  worker: Worker;
  /** Stops taking jobs and waits for the running ones to finish. */
  close(): Promise<void>;
}

export interface EventWorkerOptions {
  /**
   * Jobs held at once (EVENT_WORKER_CONCURRENCY). A job mostly waits for its batch, so this
   * bounds how many pushes can be waiting together: enough for the rate times the time a batch
   * takes (1,000 pushes/s x ~0.3 s).
   */
  concurrency: number;
  /** The longest a push waits for others while a batch is in flight (EVENTS_BATCH_WAIT_MS). */
  batchWaitMs: number;
}

/**
 * Starts consuming the `events` queue. `connection` must be a `worker`-role Redis
 * (maxRetriesPerRequest: null); the caller closes it after `close()`.
 */
export function startEventWorker(
  deps: EventJobDeps & { connection: Redis; prefix: string },
  opts: EventWorkerOptions,
): EventWorker {
  const log = deps.log.child({ queue: QUEUE_NAMES.events });
  // Failed pushes of a batch go back to the same queue, prefix and connection as the batch came from.
  const producer = openQueue(QUEUE_NAMES.events, deps.connection, deps.prefix, {}, log);
  const requeue = (jobs: EventJobSpec[]) => producer.addBulk(jobs);
  const batcher =
    deps.batcher ??
    new PushBatcher({ waitMs: opts.batchWaitMs, apply: (pushes) => applyPushes(pushes, deps) });
  const jobDeps = { ...deps, batcher, requeue: deps.requeue ?? requeue };
  const worker = new Worker(QUEUE_NAMES.events, (job) => processEventJob(job, jobDeps), {
    connection: deps.connection,
    prefix: deps.prefix,
    concurrency: opts.concurrency,
  });
  worker.on('failed', (job, error) => {
    const final =
      job === undefined ||
      job.attemptsMade >= (job.opts.attempts ?? 1) ||
      error.name === 'UnrecoverableError';
    log[final ? 'error' : 'warn'](
      { jobId: job?.id, attempt: job?.attemptsMade, err: error.message },
      final ? 'event job failed for good (kept in the failed set)' : 'event job failed, will retry',
    );
  });
  worker.on('error', (error) => log.error({ err: error.message }, 'event worker error'));
  return {
    worker,
    async close() {
      await worker.close();
      await producer.close();
    },
  };
}
