/**
 * BullMQ queue names and the one way to open a queue, shared by the /wx server (producer of
 * `events`), the worker and the sync scheduler. Every key lives under `QUEUE_PREFIX` so several
 * deployments (or test files) can share one Redis.
 */
import { Queue, type QueueOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Log } from './logger.ts';
import { watchErrors } from './redis.ts';

export const QUEUE_NAMES = { events: 'events', sync: 'sync' } as const;
export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

/**
 * A producer-side queue on an existing connection (BullMQ reuses it rather than opening its own).
 * Pass a `request`-role connection on the request path so an outage fails fast. Its errors go to
 * `log` (see watchErrors: BullMQ prints a queue's unheard errors, AUTH password included).
 */
export function openQueue<Data = unknown>(
  name: QueueName,
  connection: Redis,
  prefix: string,
  opts: Omit<QueueOptions, 'connection' | 'prefix'> = {},
  log?: Log,
): Queue<Data> {
  const queue = new Queue<Data>(name, { ...opts, connection, prefix });
  watchErrors(queue, `queue ${name}`, log);
  return queue;
}

/** Job ids become Redis key parts: BullMQ refuses `:` in custom ids, so ids are built from safe parts. */
export function safeJobId(...parts: string[]): string {
  return parts.map((p) => p.replace(/[^\w.-]/g, '_')).join('-');
}
