/**
 * BullMQ queue names and the one way to open a queue, shared by the /wx server (producer of
 * `events`), the worker and the sync scheduler. Every key lives under `QUEUE_PREFIX` so several
 * deployments (or test files) can share one Redis.
 */
import { Queue, type QueueOptions, UnrecoverableError } from 'bullmq';
import type { Redis } from 'ioredis';
import { WxsyncError } from '../src/errors.ts';
import { safeErrorMessage } from './runner.ts';

export const QUEUE_NAMES = { events: 'events', sync: 'sync' } as const;
export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

/**
 * A producer-side queue on an existing connection (BullMQ reuses it rather than opening its own).
 * Pass a `request`-role connection on the request path so an outage fails fast.
 */
export function openQueue<Data = unknown>(
  name: QueueName,
  connection: Redis,
  prefix: string,
  opts: Omit<QueueOptions, 'connection' | 'prefix'> = {},
): Queue<Data> {
  return new Queue<Data>(name, { ...opts, connection, prefix });
}

/** Job ids become Redis key parts: BullMQ refuses `:` in custom ids, so ids are built from safe parts. */
export function safeJobId(...parts: string[]): string {
  return parts.map((p) => p.replace(/[^\w.-]/g, '_')).join('-');
}

/**
 * The one place a job failure is mapped for BullMQ: a WxsyncError that says it is not retryable
 * (bad payload, WeChat errcode a person must fix) becomes UnrecoverableError, so the job lands in
 * the failed set at once with its reason; everything else is rethrown for BullMQ to retry with
 * the job's backoff (transient WeChat errors, Redis or PostgreSQL hiccups).
 */
export function toJobError(error: unknown): Error {
  if (error instanceof WxsyncError && !error.retryable) return new UnrecoverableError(error.message);
  if (error instanceof WxsyncError) return error;
  // A foreign error (pg, Prisma, ioredis) may quote a connection string: BullMQ stores the message
  // as failedReason, which bull-board shows.
  return new Error(safeErrorMessage(error));
}
