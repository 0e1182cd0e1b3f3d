/**
 * BullMQ queue names and the one way to open a queue, shared by the /wx server (producer of
 * `events`), the worker and the sync scheduler. Every key lives under `QUEUE_PREFIX` so several
 * deployments (or test files) can share one Redis.
 */
import { Queue, type QueueOptions } from 'bullmq';
import type { Redis } from 'ioredis';

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
