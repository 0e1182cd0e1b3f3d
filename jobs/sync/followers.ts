/**
 * Follower sync: user/get pages (10,000 openids) -> user/info/batchget (<=100 per call) with
 * SYNC_BATCH_CONCURRENCY calls in flight -> one upsert statement per ~1,000 profiles.
 *
 * Fan-out is an in-process bounded pool inside this one job, not BullMQ child jobs: a 1M sync is
 * 10,000 batchget calls, and as child jobs each would cost several Redis round trips (add, lock,
 * complete, parent bookkeeping) plus its own small upsert, while the pool keeps one keep-alive
 * HTTP agent, coalesces writes into large statements and needs no flow bookkeeping to know that the
 * listing is complete (the precondition for marking the unlisted unsubscribed). Parallelism across
 * machines is not needed: WeChat's rate limit, not CPU, bounds the sync.
 *
 * Resumability: sync_runs.checkpoint holds the cursor (next_openid) that fetches the page in
 * progress, the batches stored and the counters. A resumed attempt refetches that page (one
 * user/get call) and skips every openid whose row this run already confirmed (last_synced_at >=
 * the run's start), so profiles stored before the crash are not fetched again and none is missed.
 */
import { z } from 'zod';
import {
  confirmListed,
  markUnlistedFollowersUnsubscribed,
  openidsSyncedSince,
  upsertFollowers,
} from '../../src/db/followers.ts';
import type { RunCounts } from '../../src/db/sync-runs.ts';
import { rowsUpserted } from '../../src/metrics.ts';
import { FOLLOWER_COUNTERS, followersContract } from '../../src/sync/followers.ts';
import { BATCHGET_MAX, type UserInfo } from '../../src/wechat/schemas.ts';
import { batchGetUserInfo, iterateFollowerPages } from '../../src/wechat/users.ts';
import { chunk } from '../../src/wechat/util.ts';
import { forEachBounded } from '../pool.ts';
import { defineJob, type JobContext } from '../types.ts';
import { mirrorTags } from './tags.ts';

const Checkpoint = z.object({
  /** next_openid that fetches the page in progress ('' = the first page). */
  cursor: z.string().default(''),
  pagesDone: z.number().int().default(0),
  /** batchget calls whose profiles are stored. */
  batchesDone: z.number().int().default(0),
  /** Every page was stored: only the unsubscribed marking is left. */
  listingComplete: z.boolean().default(false),
  counts: z.record(z.string(), z.number()).default({}),
});
type Checkpoint = z.infer<typeof Checkpoint>;

type Counter = (typeof FOLLOWER_COUNTERS)[number];

const CHECKPOINT_EVERY_MS = 1_000;

export const followersJob = defineJob(followersContract, syncFollowers);

async function syncFollowers(ctx: JobContext<Record<string, never>>): Promise<RunCounts> {
  const { deps, run, signal, log } = ctx;
  const { db, wechat } = deps;
  const concurrency = deps.config.SYNC_BATCH_CONCURRENCY;
  const writeRows = deps.followerWriteRows ?? 1_000;
  // Times stored in followers (and so follower_history periods) come from the deps' clock, the one
  // the runner dated the run with: "confirmed since the run started" compares like with like.
  const clock = deps.now ?? (() => new Date());
  const writer = { kind: 'sync', runId: run.id } as const;
  const cp: Checkpoint = Checkpoint.parse(run.checkpoint ?? {});
  const counts = Object.fromEntries(FOLLOWER_COUNTERS.map((k) => [k, cp.counts[k] ?? 0])) as Record<
    Counter,
    number
  >;
  const add = (k: Counter, n: number) => {
    counts[k] += n;
  };
  if (run.resumed)
    log.info(
      { runId: run.id, cursor: cp.cursor ? '(set)' : '', batchesDone: cp.batchesDone },
      'resuming follower sync',
    );

  let lastSaved = 0;
  const save = async (force: boolean) => {
    if (!force && Date.now() - lastSaved < CHECKPOINT_EVERY_MS) return;
    lastSaved = Date.now();
    await run.saveCheckpoint({ ...cp, counts }, counts);
  };
  const report = (phase: string) =>
    ctx.progress(phase, counts.profiles + counts.skippedOnResume, counts.wechatTotal || undefined, counts);

  // Profiles fetched but not yet written, and how many batchget calls they came from.
  let buffer: UserInfo[] = [];
  let bufferedBatches = 0;
  /** When the oldest batchget call whose answer sits in the buffer was sent. */
  let bufferFetchedAt: Date | undefined;
  const flush = async () => {
    if (buffer.length === 0 && bufferedBatches === 0) return;
    const rows = buffer;
    const batches = bufferedBatches;
    const fetchedAt = bufferFetchedAt;
    buffer = [];
    bufferedBatches = 0;
    bufferFetchedAt = undefined;
    signal.throwIfAborted();
    const r = await upsertFollowers(db, rows, { syncedAt: clock(), fetchedAt, writer });
    add('inserted', r.inserted);
    add('changed', r.changed);
    add('unchanged', r.unchanged);
    rowsUpserted.inc({ table: 'followers' }, r.inserted + r.changed);
    cp.batchesDone += batches;
    report('profiles');
    await save(false);
  };

  if (!cp.listingComplete) {
    const pages = iterateFollowerPages(wechat, { startOpenid: cp.cursor });
    // Prefetch the next page while this page's profiles are fetched: no idle gap between pages.
    let nextPage = pages.next();
    nextPage.catch(() => undefined);
    for (;;) {
      const step = await nextPage;
      if (step.done) break;
      const page = step.value;
      nextPage = pages.next();
      nextPage.catch(() => undefined);
      counts.wechatTotal = page.total;

      let todo = page.openids;
      if (run.resumed) {
        const stored = await openidsSyncedSince(db, todo, run.startedAt);
        todo = todo.filter((openid) => !stored.has(openid));
        add('skippedOnResume', page.openids.length - todo.length);
      }
      await forEachBounded(chunk(todo, BATCHGET_MAX), concurrency, async (batch) => {
        signal.throwIfAborted();
        const askedAt = clock();
        const infos = await batchGetUserInfo(wechat, batch);
        if (bufferFetchedAt === undefined || askedAt < bufferFetchedAt) bufferFetchedAt = askedAt;
        add('batchgetCalls', 1);
        add('profiles', infos.length);
        if (infos.length < batch.length) {
          // Listed by user/get, so still following, but batchget left them out: confirm them as
          // listed (their last profile stays) or the end of the sync would flag them as gone.
          const answered = new Set(infos.map((i) => i.openid));
          const missing = batch.filter((openid) => !answered.has(openid));
          add('missing', missing.length);
          await confirmListed(db, missing, clock(), writer);
        }
        buffer.push(...infos);
        bufferedBatches += 1;
        if (buffer.length >= writeRows) await flush();
      });
      await flush();
      // Page counters move only once the page is stored: a resumed attempt refetches this page.
      add('pages', 1);
      add('listed', page.openids.length);
      cp.pagesDone += 1;
      cp.cursor = page.nextOpenid;
      await save(true);
    }
    cp.listingComplete = true;
    await save(true);
  }

  // Tag names beside the tagid_list just stored (follower_tags, tag_distribution).
  signal.throwIfAborted();
  const tags = await mirrorTags(deps, run.id);
  counts.tags = tags.listed;

  // Only now, with every listed follower confirmed, is "not listed" proof of leaving.
  report('marking');
  signal.throwIfAborted();
  const marked = await markUnlistedFollowersUnsubscribed(db, run.startedAt, clock(), writer);
  add('markedUnsubscribed', marked);
  rowsUpserted.inc({ table: 'followers' }, marked);
  report('done');
  return counts;
}
