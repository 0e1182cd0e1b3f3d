/**
 * The processor of the `events` queue (job names and payloads: src/events/jobs.ts): pushes
 * received on /wx (subscribe, unsubscribe, or anything else), applied to PostgreSQL off the
 * request path by applyPushes (./apply.ts: set-based writes, profiles fetched with batchget).
 * - `wx-push`: one push, retried with backoff on its own.
 * - `wx-push-batch`: the pushes /wx group-committed into one job, applied together; a push that
 *   fails is handed to its own `wx-push` job (so it retries alone and, failing for good, sits in
 *   the failed set with its reason) and the batch completes. If handing it over fails, the batch
 *   job fails and is retried: pushes already applied are skipped by the follower_events guard.
 * In the worker, the pushes of all jobs running at once go through one PushBatcher (./batcher.ts),
 * so concurrent single-push jobs share their profile calls and statements too.
 */
import { hash } from 'node:crypto';
import type { Job } from 'bullmq';
import { errorMessage, formatIssues, InputError } from '../../src/errors.ts';
import {
  EVENT_BATCH_JOB,
  EVENT_JOB,
  EventBatchPayload,
  EventJobPayload,
  type EventJobSpec,
  singlePushJob,
} from '../../src/events/jobs.ts';
import { boundedLabel, jobDuration } from '../../src/metrics.ts';
import { QUEUE_NAMES } from '../../src/queues.ts';
import { toJobError } from '../job-error.ts';
import { type ApplyDeps, applyPushes, type EventOutcome, type PushResult } from './apply.ts';
import type { PushBatcher } from './batcher.ts';

export type { EventOutcome } from './apply.ts';

export interface EventJobDeps extends ApplyDeps {
  /**
   * Adds the single-push jobs of a batch's failed pushes to the events queue. The worker passes
   * its producer (startEventWorker); tests that call processEventJob with a hand-made job pass one.
   */
  requeue?: (jobs: EventJobSpec[]) => Promise<unknown>;
  /** Applies pushes together with those of other jobs (the worker's); absent: each job on its own. */
  batcher?: PushBatcher;
}

/** What a batch job did: pushes by outcome, and how many were handed to their own job. */
export type BatchOutcome = Record<EventOutcome, number> & { requeued: number };

const applyWith = (deps: EventJobDeps, pushes: EventJobPayload[]): Promise<PushResult[]> =>
  deps.batcher ? deps.batcher.submit(pushes) : applyPushes(pushes, deps);

/** Applies one push; throws its failure (mapped by processEventJob for BullMQ). */
export async function run({
  payload,
  deps,
}: {
  payload: EventJobPayload;
  deps: EventJobDeps;
}): Promise<EventOutcome> {
  const [result] = await applyWith(deps, [payload]);
  if (result === undefined) throw new Error('no result for the push');
  if ('error' in result) throw result.error;
  return result.outcome;
}

const EVENT_JOB_NAMES: ReadonlySet<string> = new Set([EVENT_JOB, EVENT_BATCH_JOB]);

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
    // Job names come from Redis: anything but ours is counted as `other`.
    jobDuration.observe(
      { queue: QUEUE_NAMES.events, name: boundedLabel(job.name, EVENT_JOB_NAMES), outcome },
      seconds,
    );
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
 * Applies every push of a batch job together (pushes of one openid in their order, see
 * applyPushes). A push that fails, for any reason, gets its own `wx-push` job; only when adding
 * those fails does the batch fail (BullMQ retries it; pushes already applied are
 * `already_processed` then).
 */
async function runBatch(job: Job, deps: EventJobDeps): Promise<BatchOutcome> {
  const parsed = EventBatchPayload.safeParse(job.data);
  if (!parsed.success) throw new InputError('invalid events batch payload: expected { pushes: [...] }');
  const result: BatchOutcome = { applied: 0, recorded: 0, already_processed: 0, requeued: 0 };
  const failed: Array<{ push: unknown; reason: string }> = [];
  const valid: EventJobPayload[] = [];
  for (const push of parsed.data.pushes) {
    try {
      valid.push(parsePush(push));
    } catch (error) {
      failed.push({ push, reason: errorMessage(error) });
    }
  }
  const results = await applyWith(deps, valid);
  results.forEach((r, i) => {
    if ('error' in r) failed.push({ push: valid[i], reason: errorMessage(r.error) });
    else result[r.outcome]++;
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
