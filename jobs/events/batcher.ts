/**
 * The events worker's coalescer: pushes of every job running in this process (single-push jobs
 * and batch jobs alike) that wait at the same time are applied together, so they share one
 * user/info/batchget call (at most 100 openids) and one statement per write.
 *
 * When a batch leaves, group-commit style:
 * - `idle`: nothing is in flight, so a push leaves at once (after the current I/O phase, so the
 *   pushes of one job, or of jobs fetched together, leave together): a lone push waits for no one;
 * - `full`: 100 distinct subscribing openids (one batchget call) or MAX_PUSHES pushes are waiting;
 * - `wait`: a batch is in flight and the oldest waiting push has waited `waitMs`
 *   (EVENTS_BATCH_WAIT_MS). That is the most a push is held back for others; when the batch in
 *   flight finishes first, the waiting pushes leave then (idle again).
 * Under a burst, batches fill while the previous one's call is in flight: 1,000 subscribes/s at
 * 100 ms per call make ~10 calls/s.
 *
 * Pushes of one openid keep their order across batches: a batch that holds an openid of a batch
 * still in flight starts applying only after that one is done (a subscribe and its unsubscribe
 * a moment later, in two batches). Within a batch, applyPushes orders them.
 */
import type { EventJobPayload } from '../../src/events/jobs.ts';
import { eventBatchSize } from '../../src/metrics.ts';
import { BATCHGET_MAX } from '../../src/wechat/schemas.ts';
import type { PushResult } from './apply.ts';

/** Pushes of one batch at most: bounds its statements (unsubscribes and messages need no fetch). */
export const MAX_PUSHES = 500;

export type BatchTrigger = 'idle' | 'full' | 'wait';

export interface PushBatcherOptions {
  /** The longest a push waits for others while a batch is in flight (ms). */
  waitMs: number;
  /** Applies one batch (applyPushes); a rejection fails every push of the batch with its reason. */
  apply(pushes: EventJobPayload[]): Promise<PushResult[]>;
  /** Distinct subscribing openids per batch (default 100, one batchget call). */
  maxOpenids?: number;
  maxPushes?: number;
}

interface Waiting {
  push: EventJobPayload;
  resolve(result: PushResult): void;
}

const isSubscribe = (push: EventJobPayload) =>
  push.message.MsgType === 'event' && push.message.Event?.toLowerCase() === 'subscribe';

export class PushBatcher {
  private pending: Waiting[] = [];
  private pendingOpenids = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private scheduled = false;
  private inFlight = 0;
  /** Openid -> the completion of the latest batch holding it, while that batch runs. */
  private readonly lastBatchOf = new Map<string, Promise<void>>();
  private readonly maxOpenids: number;
  private readonly maxPushes: number;

  constructor(private readonly options: PushBatcherOptions) {
    if (!(options.waitMs >= 0)) throw new RangeError('waitMs must be >= 0');
    this.maxOpenids = options.maxOpenids ?? BATCHGET_MAX;
    this.maxPushes = options.maxPushes ?? MAX_PUSHES;
  }

  /** Batches in flight (for tests and the worker's shutdown log). */
  get batchesInFlight(): number {
    return this.inFlight;
  }

  /** Applies `pushes` with whatever else is waiting; resolves with one result per push, in order. */
  submit(pushes: readonly EventJobPayload[]): Promise<PushResult[]> {
    return Promise.all(
      pushes.map((push) => new Promise<PushResult>((resolve) => this.add({ push, resolve }))),
    );
  }

  private add(waiting: Waiting): void {
    const openid = waiting.push.message.FromUserName;
    const subscribe = isSubscribe(waiting.push);
    const newOpenid = subscribe && !this.pendingOpenids.has(openid);
    // This push would not fit: the waiting batch is complete without it.
    if ((newOpenid && this.pendingOpenids.size >= this.maxOpenids) || this.pending.length >= this.maxPushes) {
      this.flush('full');
    }
    this.pending.push(waiting);
    if (subscribe) this.pendingOpenids.add(openid);
    if (this.pendingOpenids.size >= this.maxOpenids || this.pending.length >= this.maxPushes) {
      this.flush('full');
    } else if (this.inFlight === 0) {
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush('idle'));
      }
    } else {
      this.timer ??= setTimeout(() => this.flush('wait'), this.options.waitMs);
    }
  }

  private flush(trigger: BatchTrigger): void {
    if (this.pending.length === 0) return;
    // A scheduled idle flush that finds a batch in flight (it was sent as full meanwhile) leaves
    // the pushes to wait: the timer (started below) bounds their wait.
    if (trigger === 'idle' && this.inFlight > 0) {
      this.scheduled = false;
      this.timer ??= setTimeout(() => this.flush('wait'), this.options.waitMs);
      return;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    this.pendingOpenids = new Set();
    this.inFlight++;
    eventBatchSize.observe({ trigger }, batch.length);

    const openids = new Set(batch.map((w) => w.push.message.FromUserName));
    const before = new Set<Promise<void>>();
    for (const openid of openids) {
      const previous = this.lastBatchOf.get(openid);
      if (previous) before.add(previous);
    }
    let done!: () => void;
    const completion = new Promise<void>((resolve) => {
      done = resolve;
    });
    for (const openid of openids) this.lastBatchOf.set(openid, completion);

    void (async () => {
      await Promise.all(before);
      let results: PushResult[];
      try {
        results = await this.options.apply(batch.map((w) => w.push));
      } catch (error) {
        results = batch.map(() => ({ error }));
      }
      batch.forEach((w, i) => {
        w.resolve(results[i] ?? { error: new Error('no result for this push') });
      });
    })().finally(() => {
      done();
      for (const openid of openids)
        if (this.lastBatchOf.get(openid) === completion) this.lastBatchOf.delete(openid);
      this.inFlight--;
      // Group commit: what waited behind this batch leaves now if nothing else is in flight.
      if (this.inFlight === 0) this.flush('idle');
    });
  }
}
