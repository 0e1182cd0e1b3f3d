/**
 * Producer side of the `sync` queue: enqueue a sync job (joining one already queued or running),
 * and follow a job's progress to its end (the CLI does both).
 */
import { randomBytes } from 'node:crypto';
import { type Job, type Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUE_NAMES, safeJobId } from '../queues.ts';
import { watchErrors } from '../redis.ts';
import { parsePayload, type SyncProgress, type SyncResult } from './contract.ts';
import { findContract, type SyncJobName } from './registry.ts';

/**
 * Finished jobs are kept a while: a scheduled slot's deterministic id must still exist when a second
 * scheduler enqueues the same slot late, or the slot would run twice.
 */
export const SYNC_JOB_RETENTION = {
  removeOnComplete: { age: 7 * 24 * 3600, count: 1_000 },
  removeOnFail: { age: 30 * 24 * 3600, count: 1_000 },
} as const;

export interface Enqueued {
  job: Job;
  /** true when an equivalent job was already queued or running and we follow that one instead. */
  joined: boolean;
}

/** A queued or running job of this name, if any (what a second request joins). */
export async function findPendingSyncJob(queue: Queue, name: SyncJobName): Promise<Job | undefined> {
  const jobs = await queue.getJobs(['active', 'waiting', 'prioritized', 'delayed'], 0, 200, true);
  return jobs.find((j) => j.name === name) as Job | undefined;
}

/**
 * Adds a sync job. The payload is validated here too so bad dates fail in the caller's terminal,
 * not later in a worker. With `jobId` (scheduler slots) BullMQ ignores a second add of the same id;
 * without one, a job of the same name already queued or running is joined instead of queued twice.
 */
export async function enqueueSync(
  queue: Queue,
  name: SyncJobName,
  payload: Record<string, unknown>,
  options: { jobId?: string; now?: Date } = {},
): Promise<Enqueued> {
  const def = findContract(name);
  if (!def) throw new Error(`unknown sync job ${name}`);
  def.resolve(parsePayload(def, payload), options.now ?? new Date());
  if (!options.jobId) {
    const pending = await findPendingSyncJob(queue, name);
    if (pending) return { job: pending, joined: true };
  }
  const jobId =
    options.jobId ??
    safeJobId(
      name,
      String(payload.trigger ?? 'cli'),
      Date.now().toString(36),
      randomBytes(3).toString('hex'),
    );
  const job = await queue.add(name, payload, { jobId, ...def.retry, ...SYNC_JOB_RETENTION });
  return { job: job as Job, joined: false };
}

/**
 * Waits for `job` to finish (on its own blocking connection, duplicated from `connection`), calling `onProgress` with each progress update, and returns its
 * result (throws the job's failure reason).
 */
export async function followSyncJob(
  job: Job,
  connection: Redis,
  prefix: string,
  onProgress: (progress: SyncProgress) => void,
): Promise<SyncResult> {
  // QueueEvents blocks on its connection: it needs its own, with maxRetriesPerRequest: null.
  const blocking = connection.duplicate({ maxRetriesPerRequest: null });
  watchErrors(blocking, 'redis connection (progress)');
  const events = new QueueEvents(QUEUE_NAMES.sync, { connection: blocking, prefix });
  watchErrors(events, 'queue events sync');
  const id = job.id;
  const listener = ({ jobId, data }: { jobId: string; data: unknown }) => {
    if (jobId === id && typeof data === 'object' && data !== null) onProgress(data as SyncProgress);
  };
  events.on('progress', listener);
  try {
    await events.waitUntilReady();
    return (await job.waitUntilFinished(events)) as SyncResult;
  } finally {
    events.off('progress', listener);
    await events.close();
    await blocking.quit().catch(() => undefined);
  }
}
