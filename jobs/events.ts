/**
 * The `events` jobs: pushes received on /wx (subscribe, unsubscribe, or anything else), applied
 * to PostgreSQL off the request path. Two job names:
 * - `wx-push` (EVENT_JOB): one push, id `wx-<dedupe key>`, retried with backoff on its own.
 * - `wx-push-batch` (EVENT_BATCH_JOB): the pushes /wx accepted while its previous write was in
 *   flight (group commit, see src/server/enqueue.ts). Each push is applied with the same `run`;
 *   a push that fails is handed to its own `wx-push` job (so it retries alone and, failing for
 *   good, sits in the failed set with its reason) and the batch completes. If handing it over
 *   fails, the batch job fails and is retried: pushes already applied are skipped by the guard below.
 *
 * - subscribe: fetch user/info for the openid and upsert the follower (the fetched profile is the
 *   truth, so a subscribe processed after the user already left stores them as unsubscribed).
 * - unsubscribe: mark the follower unsubscribed at the push's CreateTime.
 * - every push: recorded once in follower_events (its unique key is the last dedupe guard: a row
 *   already processed is never applied again, e.g. a retry that outlived the Redis dedupe window).
 */
import { hash } from 'node:crypto';
import { Job, type JobType, type Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Db } from '../src/db/client.ts';
import { markUnsubscribed, upsertFollowers } from '../src/db/followers.ts';
import { errorMessage, InputError } from '../src/errors.ts';
import type { Log } from '../src/logger.ts';
import { jobDuration, rowsUpserted } from '../src/metrics.ts';
import type { WeChatClient } from '../src/wechat/client.ts';
import { getUserInfo } from '../src/wechat/users.ts';
import { forEachBounded } from './pool.ts';
import { QUEUE_NAMES, toJobError } from './queues.ts';

export const EVENT_JOB = 'wx-push';
export const EVENT_BATCH_JOB = 'wx-push-batch';
/** Pushes per batch job: bounds the job's size (~1 KiB a push) and the work one attempt redoes. */
export const MAX_PUSHES_PER_JOB = 500;

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
    /** Mass-send and template-send reports (MASSSENDJOBFINISH, TEMPLATESENDJOBFINISH) spell it MsgID. */
    MsgID: z
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

/** The pushes a job of the events queue carries, whatever its name (for counting: tests, bench). */
export function pushesOf(job: { name: string; data: unknown }): unknown[] {
  if (job.name === EVENT_BATCH_JOB) {
    const parsed = EventBatchPayload.safeParse(job.data);
    return parsed.success ? parsed.data.pushes : [];
  }
  return job.name === EVENT_JOB ? [job.data] : [];
}

const ALL_STATES: JobType[] = ['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'];

/**
 * Every push the events queue holds in `states`, with the job carrying it (a batch job carries
 * many): "is this push queued exactly once" is counted over pushes, not jobs.
 */
export async function queuedPushes(
  queue: Queue,
  states: JobType[] = ALL_STATES,
): Promise<Array<{ job: Job; push: EventJobPayload }>> {
  const found: Array<{ job: Job; push: EventJobPayload }> = [];
  // One state at a time: BullMQ applies a range to each listed state separately.
  for (const state of states) {
    for (let start = 0; ; start += 1000) {
      const jobs = await queue.getJobs([state], start, start + 999, true);
      for (const job of jobs) {
        if (job) for (const push of pushesOf(job)) found.push({ job, push: push as EventJobPayload });
      }
      if (jobs.length < 1000) break;
    }
  }
  return found;
}

/** `follower_events.event`: the Event for MsgType=event, otherwise the MsgType (text, image...). */
export function eventName(message: WxMessage): string {
  return message.MsgType === 'event' ? (message.Event ?? 'event') : message.MsgType;
}

/**
 * The identity of a push across WeChat's retries (each retry carries a new timestamp and nonce,
 * the same body). Messages: sender + MsgId (MsgId alone has collided in practice). Events:
 * sender + CreateTime + Event + EventKey. Hashed so it is a safe Redis key and BullMQ job id.
 */
/** The message id, however the push spells it (MsgId, or MsgID in send reports). */
export const messageId = (message: WxMessage): string | undefined => message.MsgId ?? message.MsgID;

export function dedupeKey(message: WxMessage): string {
  const msgId = messageId(message);
  const parts =
    msgId !== undefined
      ? ['msg', message.FromUserName, msgId]
      : ['event', message.FromUserName, message.CreateTime, message.Event ?? '', message.EventKey ?? ''];
  // One-shot crypto.hash: a fifth of createHash's cost, and this runs for every push on /wx.
  return hash('sha1', parts.join('\u0000'));
}

export interface EventJobDeps {
  db: Db;
  wechat: WeChatClient;
  log: Log;
  /**
   * Adds the single-push jobs of a batch's failed pushes. Default: the batch job's own queue
   * (see `ownQueue`); tests that call processEventJob with a hand-made job pass one.
   */
  requeue?: (jobs: EventJobSpec[]) => Promise<unknown>;
  /** Pushes of one batch applied at once (default 8; pushes of one openid stay in order). */
  batchConcurrency?: number;
}

export type EventOutcome = 'applied' | 'recorded' | 'already_processed';

/** What a batch job did: pushes by outcome, and how many were handed to their own job. */
export type BatchOutcome = Record<EventOutcome, number> & { requeued: number };

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
  const key = {
    openid,
    event,
    createTime,
    msgId: messageId(message) ?? '',
    eventKey: message.EventKey ?? '',
  };

  const inserted = await deps.db.followerEvent.createMany({
    data: [
      {
        ...key,
        msgType: message.MsgType,
        receivedAt: new Date(payload.receivedAt),
        payload: message,
      },
    ],
    skipDuplicates: true,
  });
  rowsUpserted.inc({ table: 'follower_events' }, inserted.count);
  const row = await deps.db.followerEvent.findUnique({
    where: { openid_event_createTime_msgId_eventKey: key },
    select: { id: true, processedAt: true },
  });
  if (row === null) throw new InputError('follower_events row vanished after insert');
  if (row.processedAt !== null) return 'already_processed';

  let outcome: EventOutcome = 'recorded';
  const lower = event.toLowerCase();
  if (message.MsgType === 'event' && lower === 'subscribe') {
    const askedAt = new Date();
    const info = await getUserInfo(deps.wechat, openid);
    await upsertFollowers(deps.db, [info], { syncedAt: new Date(), fetchedAt: askedAt });
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
export async function processEventJob(job: Job, deps: EventJobDeps): Promise<EventOutcome | BatchOutcome> {
  const started = process.hrtime.bigint();
  let outcome = 'failed';
  try {
    if (job.name === EVENT_BATCH_JOB) {
      const result = await runBatch(job, deps);
      outcome = result.requeued > 0 ? 'partial' : 'ok';
      return result;
    }
    if (job.name !== EVENT_JOB) throw new InputError(`unknown job name ${job.name} on the events queue`);
    const result = await run({ payload: parsePush(job.data), deps });
    outcome = result;
    return result;
  } catch (error) {
    throw toJobError(error);
  } finally {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    jobDuration.observe({ queue: QUEUE_NAMES.events, name: job.name, outcome }, seconds);
  }
}

function parsePush(data: unknown): EventJobPayload {
  const parsed = EventJobPayload.safeParse(data);
  if (!parsed.success) {
    throw new InputError(
      `invalid events payload: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`,
    );
  }
  return parsed.data;
}

/**
 * Applies every push of a batch job. Pushes of one openid run in order (a subscribe and its
 * unsubscribe in one batch), different openids `batchConcurrency` at a time. A push that fails,
 * for any reason, gets its own `wx-push` job; only when adding those fails does the batch fail
 * (BullMQ retries it; pushes already applied are `already_processed` then).
 */
async function runBatch(job: Job, deps: EventJobDeps): Promise<BatchOutcome> {
  const parsed = EventBatchPayload.safeParse(job.data);
  if (!parsed.success) throw new InputError('invalid events batch payload: expected { pushes: [...] }');
  const byOpenid = new Map<string, unknown[]>();
  for (const push of parsed.data.pushes) {
    const openid = (push as { message?: { FromUserName?: unknown } })?.message?.FromUserName;
    const group = typeof openid === 'string' ? openid : '';
    const list = byOpenid.get(group);
    if (list) list.push(push);
    else byOpenid.set(group, [push]);
  }
  const result: BatchOutcome = { applied: 0, recorded: 0, already_processed: 0, requeued: 0 };
  const failed: Array<{ push: unknown; reason: string }> = [];
  await forEachBounded([...byOpenid.values()], deps.batchConcurrency ?? 8, async (pushes) => {
    for (const push of pushes) {
      try {
        result[await run({ payload: parsePush(push), deps })]++;
      } catch (error) {
        failed.push({ push, reason: errorMessage(error) });
      }
    }
  });
  if (failed.length > 0) {
    // An invalid push cannot be keyed or parsed by its own job either: it is kept as is, under an
    // id derived from its JSON, and fails there at once with its reason (UnrecoverableError).
    const jobs = failed.map(({ push }) => {
      const valid = EventJobPayload.safeParse(push);
      if (valid.success) return singlePushJob(valid.data);
      const id = hash('sha1', JSON.stringify(push));
      return singlePushJob(push as EventJobPayload, `invalid-${id}`);
    });
    await (deps.requeue ?? ownQueue(job))(jobs);
    result.requeued = failed.length;
    deps.log.warn(
      {
        jobId: job.id,
        requeued: failed.length,
        reasons: [...new Set(failed.map((f) => f.reason))].slice(0, 5),
      },
      'pushes of a batch failed; each one now retries in its own job',
    );
  }
  return result;
}

/**
 * BullMQ gives a processor no producer, but every Job holds the queue handle it came from (in a
 * worker, the Worker itself), and Queue.addBulk is Job.createBulk on such a handle: adding
 * through it writes to the same queue, prefix and connection as the batch job.
 */
function ownQueue(job: Job): (jobs: EventJobSpec[]) => Promise<unknown> {
  const handle = (job as unknown as { queue: Parameters<typeof Job.createBulk>[0] }).queue;
  return (jobs) => Job.createBulk(handle, jobs);
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
  const jobDeps = { batchConcurrency: opts.concurrency, ...deps };
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
    close: () => worker.close(),
  };
}
