import type { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import { createLogger, type Log } from './logger.ts';
import { safeErrorText } from './safe-error.ts';

/**
 * Redis connections by role (BullMQ's production guide):
 * - `worker`: blocking BullMQ workers, must never give up a command (`maxRetriesPerRequest: null`).
 * - `request`: on the /wx request path; fails fast while Redis is down (no offline queue) or slow
 *   (command timeout) so the push gets a 503 and WeChat retries, instead of hanging past its 5 s
 *   budget. Commands of concurrent pushes are auto-pipelined (one write per tick).
 * - `service`: everything else (token store, rate limiter, queue producers in jobs and the CLI).
 */
export type RedisRole = 'worker' | 'request' | 'service';

/**
 * How long a command on a `request` connection may take before it fails (WeChat gives a push 5 s;
 * a 503 lets it retry). Enforced by ioredis per command: one timer, no wrapper promise per push.
 */
export const REQUEST_COMMAND_TIMEOUT_MS = 2000;

/** Fallback for callers that pass no logger (tests, one-off tools): errors still go through pino. */
let fallbackLog: Log | undefined;

/** How often one emitter's repeated error is logged again (a Redis that refuses us retries every second). */
const ERROR_LOG_EVERY_MS = 30_000;

/**
 * Attaches the one error listener every Redis connection and BullMQ object (Queue, QueueEvents,
 * Worker) must have. Without one, ioredis prints "Unhandled error event" and BullMQ's QueueBase
 * falls back to console.error(err): both print the whole error object, whose `command.args` holds
 * the AUTH user and password when Redis refuses them. Here only the message is logged, through
 * pino, with secrets and URL credentials blanked; a repeated message is logged every 30 s with a count.
 */
export function watchErrors(emitter: EventEmitter, what: string, log?: Log): void {
  let last = '';
  let lastAt = 0;
  let repeats = 0;
  emitter.on('error', (error: unknown) => {
    const text = safeErrorText(error);
    const now = Date.now();
    if (text === last && now - lastAt < ERROR_LOG_EVERY_MS) {
      repeats++;
      return;
    }
    fallbackLog ??= log
      ? undefined
      : createLogger(process.env.LOG_LEVEL ?? 'warn', { pretty: false, stderr: true });
    (log ?? fallbackLog!).warn({ err: text, repeats }, `${what} error`);
    last = text;
    lastAt = now;
    repeats = 0;
  });
}

export function createRedis(url: string, role: RedisRole, name = `wxsync-${role}`, log?: Log): Redis {
  const redis = connect(url, role, name);
  watchErrors(redis, `redis connection ${name}`, log);
  return redis;
}

function connect(url: string, role: RedisRole, name: string): Redis {
  const common = { connectionName: name, lazyConnect: false };
  switch (role) {
    case 'worker':
      return new Redis(url, { ...common, maxRetriesPerRequest: null });
    case 'request':
      return new Redis(url, {
        ...common,
        // Concurrent pushes' commands leave in one write per event-loop tick instead of one each.
        enableAutoPipelining: true,
        enableOfflineQueue: false,
        commandTimeout: REQUEST_COMMAND_TIMEOUT_MS,
        maxRetriesPerRequest: 1,
        retryStrategy: (times) => Math.min(times * 200, 2000),
      });
    case 'service':
      return new Redis(url, { ...common, maxRetriesPerRequest: 3 });
  }
}

/**
 * Resolves once `redis` is connected, or after `timeoutMs` with false. A `request`-role connection
 * has no offline queue, so a server that listens before it is connected would answer its first
 * pushes 503; waiting briefly at start avoids that, while a Redis that is down does not stop the
 * server from starting (it answers 503 until Redis is back, and WeChat retries).
 */
export async function redisReady(redis: Redis, timeoutMs = 5000): Promise<boolean> {
  if (redis.status === 'ready') return true;
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      resolve(ok);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    redis.on('ready', onReady);
  });
}

/** Deletes every key under `<prefix>:` (a queue prefix's BullMQ keys and claims), a SCAN batch at a time. */
export async function deleteKeysUnder(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}
