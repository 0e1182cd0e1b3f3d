/**
 * How /wx hands an accepted push to the `events` queue: claim it once, then group-commit it.
 *
 * Every push is claimed with its own `SET NX EX` (the dedupe window; ioredis auto-pipelines the
 * claims of concurrent pushes into one write). The BullMQ write is the expensive part (a Lua
 * script per job plus BullMQ's JS per call), so it is shared: when no write is in flight, the
 * pushes claimed so far leave at once (after the current I/O phase, so no added latency at low
 * load); while one is in flight, newcomers wait and then leave together as ONE job (at most
 * MAX_PUSHES_PER_JOB pushes each, several jobs in one addBulk round trip when more piled up).
 * A push that is alone becomes the classic single-push job `wx-<key>`.
 *
 * A push's promise resolves only once the job holding it is written in Redis, so /wx never answers
 * `success` for a push it could still lose; when the write fails (or outlasts the budget) every
 * push of that write is rejected with UnavailableError and its claim released, so WeChat's retry
 * is accepted again (503 -> retry): nothing lost. A write that timed out may still land; the retry
 * then queues the push a second time and follower_events' unique key keeps it from being applied
 * twice.
 *
 * A claim is PENDING (short TTL) until its write landed, then QUEUED (the dedupe window). Only a
 * QUEUED claim makes a retry a duplicate; a retry that finds a PENDING one is answered 503. Why:
 * when Redis dies between the claim and the write, releasing the claim fails too, and a restarted
 * Redis (AOF) still holds it; were that claim final, every retry would be answered `success` as a
 * duplicate of a push that was never queued (the chaos suite lost pushes exactly so). A PENDING
 * claim expires on its own, and the next retry queues the push.
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { withDeadline } from '../deadline.ts';
import { UnavailableError } from '../errors.ts';
import {
  batchPushJob,
  type EventJobPayload,
  type EventJobSpec,
  MAX_PUSHES_PER_JOB,
  singlePushJob,
} from '../events/jobs.ts';
import { dedupeKey, type WxMessage } from '../events/message.ts';
import { SignatureError } from '../wechat/signature.ts';

export interface PushEnqueuerOptions {
  redis: Redis;
  queue: Queue;
  /** Dedupe keys live at `<dedupePrefix><key>`. */
  dedupePrefix: string;
  /** How long a claimed push refuses its retries (outlives the job's completion and removal). */
  dedupeTtlS: number;
  /**
   * How long a push may wait for its job to be written (behind the write in flight, then its
   * own) before it is answered 503. The claim is bounded by the connection's command timeout.
   */
  budgetMs: number;
  maxPushesPerJob?: number;
}

/**
 * A claim that must hold for the push to go on: `key` is set to `value` unless it holds another
 * value already (then the push is refused). /wx claims each signed (timestamp, nonce) with the
 * body's hash, so a signed query carries one message only, while WeChat's identical retries pass.
 */
export interface OnceClaim {
  key: string;
  value: string;
  ttlS: number;
}

export interface PushEnqueuer {
  /**
   * True: the push is now in the queue. False: a duplicate (already claimed). Throws
   * UnavailableError (Redis), or SignatureError when `once` is held for another value.
   */
  enqueueOnce(message: WxMessage, receivedAt: Date, once?: OnceClaim): Promise<boolean>;
}

interface Waiting {
  /** performance.now() when the push joined the queue of writes. */
  at: number;
  key: string;
  push: EventJobPayload;
  resolve(): void;
  reject(error: unknown): void;
}

/** Claim values: the push's write is in flight / the push is in the queue. */
const PENDING = 'pending';
const QUEUED = '1';

/** A write gets at least this long, even for pushes that waited most of their budget. */
const MIN_WRITE_MS = 250;

const unavailable = (error: unknown, what: string) =>
  error instanceof UnavailableError ? error : new UnavailableError(`${what} unavailable`, { cause: error });

export function createPushEnqueuer(options: PushEnqueuerOptions): PushEnqueuer {
  const { redis, queue, dedupePrefix, dedupeTtlS, budgetMs } = options;
  const maxPerJob = options.maxPushesPerJob ?? MAX_PUSHES_PER_JOB;
  let waiting: Waiting[] = [];
  let writing = false;
  let scheduled = false;

  function jobsFor(batch: Waiting[]): EventJobSpec[] {
    const jobs: EventJobSpec[] = [];
    for (let i = 0; i < batch.length; i += maxPerJob) {
      const group = batch.slice(i, i + maxPerJob);
      jobs.push(
        group.length === 1 && group[0]
          ? singlePushJob(group[0].push, group[0].key)
          : batchPushJob(
              group.map((w) => w.push),
              group.map((w) => w.key),
            ),
      );
    }
    return jobs;
  }

  async function write(batch: Waiting[]): Promise<void> {
    const jobs = jobsFor(batch);
    const [only] = jobs;
    const added: Promise<unknown> =
      jobs.length === 1 && only ? queue.add(only.name, only.data, only.opts) : queue.addBulk(jobs);
    // The oldest push waited behind the previous write: the budget counts from when it arrived.
    const waited = performance.now() - (batch[0]?.at ?? performance.now());
    // One timer per write, not per push.
    await withDeadline(
      added,
      Math.max(MIN_WRITE_MS, budgetMs - waited),
      () => new UnavailableError('the events queue did not answer in time'),
    );
  }

  /** Writes everything waiting; when the write settles, whatever piled up meanwhile goes next. */
  function flush(): void {
    scheduled = false;
    if (writing || waiting.length === 0) return;
    const batch = waiting;
    waiting = [];
    writing = true;
    write(batch)
      .then(
        () => {
          for (const w of batch) w.resolve();
        },
        (error: unknown) => {
          const failure = unavailable(error, 'events queue');
          for (const w of batch) w.reject(failure);
        },
      )
      .finally(() => {
        writing = false;
        flush();
      });
  }

  function submit(key: string, push: EventJobPayload): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      waiting.push({ at: performance.now(), key, push, resolve, reject });
      if (!writing && !scheduled) {
        scheduled = true;
        // After the current I/O phase: pushes whose claims came back in the same read go together.
        setImmediate(flush);
      }
    });
  }

  // Outlives a write that uses its whole budget, so a claim in use is never taken twice.
  const pendingTtlS = Math.max(1, Math.ceil((2 * budgetMs) / 1000));
  /** Writes in flight in this process, by dedupe key: a concurrent copy of the push waits for its original. */
  const inFlight = new Map<string, Promise<void>>();

  /** Gives a claim back (best effort: a PENDING claim expires on its own). */
  const release = (redisKey: string) =>
    redis.del(redisKey).then(
      () => undefined,
      () => undefined,
    );

  return {
    async enqueueOnce(message, receivedAt, once) {
      const key = dedupeKey(message);
      const redisKey = dedupePrefix + key;
      // SET NX GET (Redis >= 7): claims the push, or says what claim is already there. Bounded by
      // the request connection's command timeout (no timer of our own per push). The `once` claim
      // is issued in the same tick: auto-pipelining sends both in one write, one round trip.
      const [claimed, guarded] = await Promise.allSettled([
        redis.set(redisKey, PENDING, 'EX', pendingTtlS, 'NX', 'GET'),
        once ? redis.set(once.key, once.value, 'EX', once.ttlS, 'NX', 'GET') : null,
      ]);
      if (claimed.status === 'rejected') throw unavailable(claimed.reason, 'Redis');
      if (guarded.status === 'rejected') {
        if (claimed.value === null) await release(redisKey);
        throw unavailable(guarded.reason, 'Redis');
      }
      const previous = claimed.value;
      const holder = guarded.value;
      if (once && holder !== null && holder !== once.value) {
        // A replayed signed query with another body. The dedupe claim just taken is given back.
        if (previous === null) await release(redisKey);
        throw new SignatureError('this signed query was already used for another message');
      }
      if (previous === QUEUED) return false;
      if (previous !== null) {
        const original = inFlight.get(key);
        if (original === undefined) {
          // Another process is queueing it, or a Redis crash orphaned the claim: WeChat retries.
          throw new UnavailableError('an earlier delivery of this push is not queued yet');
        }
        await original;
        return false;
      }
      const written = (async () => {
        try {
          await submit(key, { message, receivedAt: receivedAt.toISOString() });
        } catch (error) {
          // Release the claim so WeChat's retry can enqueue it; losing the push would be worse.
          await release(redisKey);
          throw error;
        }
      })();
      inFlight.set(key, written);
      // The push is queued once `written` resolves: the claim turns QUEUED after that, off the
      // answer's path (a Redis round trip less per push). Until it has, a copy of the push in this
      // process waits for `written` (inFlight), one in another process finds the PENDING claim
      // and gets a 503 (WeChat retries only after 5 s without an answer). If the promotion fails,
      // the PENDING claim expires and a later retry queues the push again (follower_events'
      // unique key keeps it from being applied twice).
      void written
        .then(() => redis.set(redisKey, QUEUED, 'EX', dedupeTtlS))
        .catch(() => undefined)
        .finally(() => inFlight.delete(key));
      await written;
      return true;
    },
  };
}
