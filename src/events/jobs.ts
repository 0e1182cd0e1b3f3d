/**
 * The jobs of the `events` queue as producers write them and the worker (jobs/events) reads them.
 * Two job names:
 * - `wx-push` (EVENT_JOB): one push, id `wx-<dedupe key>`, retried with backoff on its own.
 * - `wx-push-batch` (EVENT_BATCH_JOB): the pushes /wx accepted while its previous write was in
 *   flight (group commit, see src/server/enqueue.ts); the worker applies them push by push.
 */
import { hash } from 'node:crypto';
import { z } from 'zod';
import { dedupeKey, WxMessage } from './message.ts';

export const EVENT_JOB = 'wx-push';
export const EVENT_BATCH_JOB = 'wx-push-batch';
/** Pushes per batch job: bounds the job's size (~1 KiB a push) and the work one attempt redoes. */
export const MAX_PUSHES_PER_JOB = 500;

export const EventJobPayload = z.object({
  message: WxMessage,
  /** When /wx accepted the push (ISO 8601). */
  receivedAt: z.iso.datetime(),
});
export type EventJobPayload = z.infer<typeof EventJobPayload>;

/**
 * A batch job's payload. Each push is validated on its own when the batch runs, so one bad push
 * becomes one failed `wx-push` job with its reason instead of failing its neighbours.
 */
export const EventBatchPayload = z.object({ pushes: z.array(z.unknown()).min(1) });
export type EventBatchPayload = { pushes: EventJobPayload[] };

/**
 * Retry policy: WeChat hiccups (-1, 45011, timeouts) and database blips are retried with
 * exponential backoff (2 s, 4 s, ... about 8.5 minutes in all); completed jobs are trimmed, failed
 * ones are kept a week so an operator sees them with their reason.
 */
export const EVENT_JOB_OPTIONS = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;

/** A job as Queue.add / addBulk take it. */
export interface EventJobSpec {
  name: string;
  data: EventJobPayload | EventBatchPayload;
  opts: typeof EVENT_JOB_OPTIONS & { jobId: string };
}

/** The job of one push: its id is the push's dedupe key, so adding it twice is a no-op. */
export function singlePushJob(payload: EventJobPayload, key = dedupeKey(payload.message)): EventJobSpec {
  return { name: EVENT_JOB, data: payload, opts: { ...EVENT_JOB_OPTIONS, jobId: `wx-${key}` } };
}

/**
 * The job of several pushes. Its id is derived from their keys, so a write that ioredis resends
 * after a reconnect (or any other replay of the same batch) is still one job.
 */
export function batchPushJob(pushes: EventJobPayload[], keys: readonly string[]): EventJobSpec {
  const id = hash('sha1', keys.join(','));
  return { name: EVENT_BATCH_JOB, data: { pushes }, opts: { ...EVENT_JOB_OPTIONS, jobId: `wxb-${id}` } };
}

/** The pushes a job of the events queue carries, whatever its name (the inverse of the builders above). */
export function pushesOf(job: { name: string; data: unknown }): unknown[] {
  if (job.name === EVENT_BATCH_JOB) {
    const parsed = EventBatchPayload.safeParse(job.data);
    return parsed.success ? parsed.data.pushes : [];
  }
  return job.name === EVENT_JOB ? [job.data] : [];
}
