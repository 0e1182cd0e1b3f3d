/**
 * The `events` job: one push received on /wx (subscribe, unsubscribe, or anything else), applied
 * to PostgreSQL off the request path.
 *
 * - subscribe: fetch user/info for the openid and upsert the follower (the fetched profile is the
 *   truth, so a subscribe processed after the user already left stores them as unsubscribed).
 * - unsubscribe: mark the follower unsubscribed at the push's CreateTime.
 * - every push: recorded once in follower_events (its unique key is the last dedupe guard: a row
 *   already processed is never applied again, e.g. a retry that outlived the Redis dedupe window).
 */
import { createHash } from 'node:crypto';
import { type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Db } from '../src/db/client.ts';
import { markUnsubscribed, upsertFollowers } from '../src/db/followers.ts';
import { InputError } from '../src/errors.ts';
import type { Log } from '../src/logger.ts';
import { jobDuration, rowsUpserted } from '../src/metrics.ts';
import type { WeChatClient } from '../src/wechat/client.ts';
import { getUserInfo } from '../src/wechat/users.ts';
import { QUEUE_NAMES, toJobError } from './queues.ts';

export const EVENT_JOB = 'wx-push';

const digits = z.string().regex(/^\d{1,12}$/, 'must be digits');

/**
 * A WeChat push as parsed from its XML: every value a string (ids stay exact). The named fields
 * are the ones wxsync relies on; any other field is kept as pushed.
 */
export const WxMessage = z
  .object({
    ToUserName: z.string().optional(),
    FromUserName: z.string().min(1).max(128),
    CreateTime: digits,
    MsgType: z.string().min(1).max(32),
    Event: z.string().max(64).optional(),
    EventKey: z.string().optional(),
    Ticket: z.string().optional(),
    MsgId: z
      .string()
      .regex(/^\d{1,24}$/, 'must be digits')
      .optional(),
  })
  .catchall(z.string());
export type WxMessage = z.infer<typeof WxMessage>;

export const EventJobPayload = z.object({
  message: WxMessage,
  /** When /wx accepted the push (ISO 8601). */
  receivedAt: z.iso.datetime(),
});
export type EventJobPayload = z.infer<typeof EventJobPayload>;

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

/** `follower_events.event`: the Event for MsgType=event, otherwise the MsgType (text, image...). */
export function eventName(message: WxMessage): string {
  return message.MsgType === 'event' ? (message.Event ?? 'event') : message.MsgType;
}

/**
 * The identity of a push across WeChat's retries (each retry carries a new timestamp and nonce,
 * the same body). Messages: sender + MsgId (MsgId alone has collided in practice). Events:
 * sender + CreateTime + Event + EventKey. Hashed so it is a safe Redis key and BullMQ job id.
 */
export function dedupeKey(message: WxMessage): string {
  const parts =
    message.MsgId !== undefined
      ? ['msg', message.FromUserName, message.MsgId]
      : ['event', message.FromUserName, message.CreateTime, message.Event ?? '', message.EventKey ?? ''];
  return createHash('sha1').update(parts.join('\u0000')).digest('hex');
}

export interface EventJobDeps {
  db: Db;
  wechat: WeChatClient;
  log: Log;
}

export type EventOutcome = 'applied' | 'recorded' | 'already_processed';

export async function run({
  payload,
  deps,
}: {
  payload: EventJobPayload;
  deps: EventJobDeps;
}): Promise<EventOutcome> {
  const { message } = payload;
  const openid = message.FromUserName;
  const event = eventName(message);
  const createTime = new Date(Number(message.CreateTime) * 1000);
  const key = { openid, event, createTime, msgId: message.MsgId ?? '' };

  const inserted = await deps.db.followerEvent.createMany({
    data: [
      {
        ...key,
        msgType: message.MsgType,
        eventKey: message.EventKey ?? null,
        receivedAt: new Date(payload.receivedAt),
        payload: message,
      },
    ],
    skipDuplicates: true,
  });
  rowsUpserted.inc({ table: 'follower_events' }, inserted.count);
  const row = await deps.db.followerEvent.findUnique({
    where: { openid_event_createTime_msgId: key },
    select: { id: true, processedAt: true },
  });
  if (row === null) throw new InputError('follower_events row vanished after insert');
  if (row.processedAt !== null) return 'already_processed';

  let outcome: EventOutcome = 'recorded';
  const lower = event.toLowerCase();
  if (message.MsgType === 'event' && lower === 'subscribe') {
    const info = await getUserInfo(deps.wechat, openid);
    await upsertFollowers(deps.db, [info], { syncedAt: new Date() });
    rowsUpserted.inc({ table: 'followers' });
    outcome = 'applied';
  } else if (message.MsgType === 'event' && lower === 'unsubscribe') {
    await markUnsubscribed(deps.db, openid, createTime);
    rowsUpserted.inc({ table: 'followers' });
    outcome = 'applied';
  }
  await deps.db.followerEvent.update({ where: { id: row.id }, data: { processedAt: new Date() } });
  return outcome;
}

/** Dispatches on the job name, validates the payload once, maps failures once (see toJobError). */
export async function processEventJob(job: Job, deps: EventJobDeps): Promise<EventOutcome> {
  const started = process.hrtime.bigint();
  let outcome = 'failed';
  try {
    if (job.name !== EVENT_JOB) throw new InputError(`unknown job name ${job.name} on the events queue`);
    const parsed = EventJobPayload.safeParse(job.data);
    if (!parsed.success) {
      throw new InputError(
        `invalid events payload: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`,
      );
    }
    const result = await run({ payload: parsed.data, deps });
    outcome = result;
    return result;
  } catch (error) {
    throw toJobError(error);
  } finally {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    jobDuration.observe({ queue: QUEUE_NAMES.events, name: job.name, outcome }, seconds);
  }
}

export interface EventWorker {
  worker: Worker;
  /** Stops taking jobs and waits for the running ones to finish. */
  close(): Promise<void>;
}

/**
 * Starts consuming the `events` queue. `connection` must be a `worker`-role Redis
 * (maxRetriesPerRequest: null); the caller closes it after `close()`.
 */
export function startEventWorker(
  deps: EventJobDeps & { connection: Redis; prefix: string },
  opts: { concurrency: number },
): EventWorker {
  const log = deps.log.child({ queue: QUEUE_NAMES.events });
  const worker = new Worker(QUEUE_NAMES.events, (job) => processEventJob(job, deps), {
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
    close: () => worker.close(),
  };
}
