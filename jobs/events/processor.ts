/**
 * The processor of the `events` queue (job names and payloads: src/events/jobs.ts): pushes
 * received on /wx (subscribe, unsubscribe, or anything else), applied to PostgreSQL off the
 * request path.
 * - `wx-push`: one push, retried with backoff on its own.
 * - `wx-push-batch`: each push is applied with the same `run`; a push that fails is handed to its
 *   own `wx-push` job (so it retries alone and, failing for good, sits in the failed set with its
 *   reason) and the batch completes. If handing it over fails, the batch job fails and is retried:
 *   pushes already applied are skipped by the follower_events guard.
 *
 * - subscribe: fetch user/info for the openid and upsert the follower (the fetched profile is the
 *   truth, so a subscribe processed after the user already left stores them as unsubscribed).
 * - unsubscribe: mark the follower unsubscribed at the push's CreateTime.
 * - every push: recorded once in follower_events (its unique key is the last dedupe guard: a row
 *   already processed is never applied again, e.g. a retry that outlived the Redis dedupe window).
 */
import { hash } from 'node:crypto';
import type { Job } from 'bullmq';
import type { Db } from '../../src/db/client.ts';
import { markFollowerEventProcessed, recordFollowerEvent } from '../../src/db/follower-events.ts';
import { markUnsubscribed, upsertFollowers } from '../../src/db/followers.ts';
import { errorMessage, formatIssues, InputError } from '../../src/errors.ts';
import {
  EVENT_BATCH_JOB,
  EVENT_JOB,
  EventBatchPayload,
  EventJobPayload,
  type EventJobSpec,
  singlePushJob,
} from '../../src/events/jobs.ts';
import { eventName, messageId } from '../../src/events/message.ts';
import type { Log } from '../../src/logger.ts';
import { jobDuration, rowsUpserted } from '../../src/metrics.ts';
import { QUEUE_NAMES } from '../../src/queues.ts';
import type { WeChatClient } from '../../src/wechat/client.ts';
import { getUserInfo } from '../../src/wechat/users.ts';
import { toJobError } from '../job-error.ts';
import { forEachBounded } from '../pool.ts';

export interface EventJobDeps {
  db: Db;
  wechat: WeChatClient;
  log: Log;
  /**
   * Adds the single-push jobs of a batch's failed pushes to the events queue. The worker passes
   * its producer (startEventWorker); tests that call processEventJob with a hand-made job pass one.
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

  const row = await recordFollowerEvent(deps.db, key, {
    msgType: message.MsgType,
    receivedAt: new Date(payload.receivedAt),
    payload: message,
  });
  rowsUpserted.inc({ table: 'follower_events' }, row?.inserted ?? 0);
  if (row === null) throw new InputError('follower_events row vanished after insert');
  if (row.processedAt !== null) return 'already_processed';

  let outcome: EventOutcome = 'recorded';
  const lower = event.toLowerCase();
  if (message.MsgType === 'event' && lower === 'subscribe') {
    const askedAt = new Date();
    const info = await getUserInfo(deps.wechat, openid);
    // changedAt: the follower_history period this subscribe opens starts at the push's CreateTime.
    await upsertFollowers(deps.db, [info], {
      syncedAt: new Date(),
      fetchedAt: askedAt,
      changedAt: createTime,
      writer: { kind: 'event', eventId: Number(row.id) },
    });
    rowsUpserted.inc({ table: 'followers' });
    outcome = 'applied';
  } else if (message.MsgType === 'event' && lower === 'unsubscribe') {
    await markUnsubscribed(deps.db, openid, createTime, { kind: 'event', eventId: Number(row.id) });
    rowsUpserted.inc({ table: 'followers' });
    outcome = 'applied';
  }
  await markFollowerEventProcessed(deps.db, row.id, new Date());
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
    throw new InputError(`invalid events payload: ${formatIssues(parsed.error, { rule: false }).join(', ')}`);
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
    if (!deps.requeue) throw new Error('events processor has no producer to hand failed pushes to');
    await deps.requeue(jobs);
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
