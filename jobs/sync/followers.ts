/**
 * Follower sync: user/get pages (10,000 openids) -> user/info/batchget (<=100 per call) with
 * SYNC_BATCH_CONCURRENCY calls in flight -> one upsert statement per ~1,000 profiles. `full`
 * fetches every profile, page by page. `listing` records the pages (follower_listing_pages, one row
 * per page), then matches the whole listing against the stored followers in one statement: the ones
 * stored as following are confirmed by the recorded pages, neither fetched nor rewritten; only the
 * rest (new or returning followers) go to batchget, in ceil(n / 100) calls. Per-page matching was
 * the slow part: each page's 10,000 openids planned as a scan of all followers. Either way, the
 * subscribed followers the listing did not name, and that nothing confirmed since the run started,
 * are flagged as gone at the end.
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
 * user/get call) and skips every openid whose profile this run already fetched (full: its
 * profile_fetched_at is after the run's start; listing: it is stored as following now, so the
 * listing's match leaves it out), so no profile stored before the crash (or the 45009 pause) is
 * fetched again and none is missed. A listing resumed without all its earlier pages recorded (a
 * checkpoint from before pages were recorded) lists again from the first page.
 */
import { z } from 'zod';
import {
  confirmListed,
  countListingPages,
  countSubscribed,
  dropListingPagesBefore,
  listedNotFollowing,
  markUnlistedFollowersUnsubscribed,
  openidsFetchedSince,
  recordListingPage,
  upsertFollowers,
} from '../../src/db/followers.ts';
import { lastRunCounter, type RunCounts } from '../../src/db/sync-runs.ts';
import { rowsUpserted } from '../../src/metrics.ts';
import {
  FOLLOWER_COUNTERS,
  type FollowerMode,
  followersContract,
  planFollowerCalls,
} from '../../src/sync/followers.ts';
import { BATCHGET_MAX, type UserInfo } from '../../src/wechat/schemas.ts';
import { batchGetUserInfo, iterateFollowerPages } from '../../src/wechat/users.ts';
import { chunk } from '../../src/wechat/util.ts';
import { forEachBounded } from '../pool.ts';
import { defineJob, type JobContext, type PlanContext } from '../types.ts';
import { mirrorTags } from './tags.ts';

const Checkpoint = z.object({
  /** next_openid that fetches the page in progress ('' = the first page). */
  cursor: z.string().default(''),
  pagesDone: z.number().int().default(0),
  /** batchget calls whose profiles are stored. */
  batchesDone: z.number().int().default(0),
  /** Every page was stored (listing: recorded); what is left: listing's profiles, then the marking. */
  listingComplete: z.boolean().default(false),
  counts: z.record(z.string(), z.number()).default({}),
});
type Checkpoint = z.infer<typeof Checkpoint>;

type Counter = (typeof FOLLOWER_COUNTERS)[number];
type Params = { mode: FollowerMode };

const CHECKPOINT_EVERY_MS = 1_000;

export const followersJob = defineJob(followersContract, syncFollowers, planFollowers);

/**
 * The run's calls, from the last follower total WeChat reported (else the stored count). With
 * neither (a first sync), the first user/get page tells the total: one call spent on knowing
 * whether the other calls fit.
 */
async function planFollowers(ctx: PlanContext<Params>) {
  const { db, wechat } = ctx.deps;
  const storedSubscribed = await countSubscribed(db);
  let total = (await lastRunCounter(db, 'followers', 'wechatTotal')) ?? storedSubscribed;
  if (total === 0) {
    const pages = iterateFollowerPages(wechat);
    const first = await pages.next();
    await pages.return();
    total = first.done ? 0 : first.value.total;
  }
  const cp = ctx.checkpoint ? Checkpoint.parse(ctx.checkpoint) : undefined;
  return planFollowerCalls({
    mode: ctx.payload.mode,
    total,
    storedSubscribed,
    pagesDone: cp?.pagesDone,
    batchesDone: cp?.batchesDone,
  });
}

async function syncFollowers(ctx: JobContext<Params>): Promise<RunCounts> {
  const { deps, run, signal, log } = ctx;
  const { db, wechat } = deps;
  const listing = ctx.payload.mode === 'listing';
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
    ctx.progress(
      phase,
      counts.profiles + counts.confirmed + counts.skippedOnResume,
      counts.wechatTotal || undefined,
      counts,
    );

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

  /** Full mode: the openids of a page whose profiles this attempt fetches. */
  const toFetch = async (openids: string[]): Promise<string[]> => {
    if (!run.resumed) return openids;
    const stored = await openidsFetchedSince(db, openids, run.startedAt);
    add('skippedOnResume', stored.size);
    return openids.filter((openid) => !stored.has(openid));
  };

  if (
    listing &&
    !cp.listingComplete &&
    cp.pagesDone > 0 &&
    (await countListingPages(db, run.id)) < cp.pagesDone
  ) {
    log.warn(
      { runId: run.id, pagesDone: cp.pagesDone },
      'earlier pages of this listing are not recorded: listing again',
    );
    Object.assign(cp, { cursor: '', pagesDone: 0 });
    Object.assign(counts, { pages: 0, listed: 0 });
  }

  /** Listing mode: the new and returning followers the completed listing found. */
  let listingTodo: string[] | undefined;
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

      signal.throwIfAborted();
      if (listing)
        await recordListingPage(db, { runId: run.id, page: cp.pagesDone, listedAt: clock() }, page.openids);
      else await fetchProfiles(await toFetch(page.openids));
      // Page counters move only once the page is stored: a resumed attempt refetches this page.
      add('pages', 1);
      add('listed', page.openids.length);
      cp.pagesDone += 1;
      cp.cursor = page.nextOpenid;
      report(listing ? 'listing' : 'profiles');
      await save(true);
    }
    if (listing) {
      // Counted once, when the listing is complete: a resumed run's match leaves out what it fetched.
      signal.throwIfAborted();
      listingTodo = await listedNotFollowing(db, run.id);
      counts.confirmed = counts.listed - listingTodo.length;
    }
    cp.listingComplete = true;
    await save(true);
  }
  if (listing) {
    report('profiles');
    signal.throwIfAborted();
    listingTodo ??= await listedNotFollowing(db, run.id);
    await fetchProfiles(listingTodo);
    await save(true);
  }

  // Tag names beside the tagid_list just stored (follower_tags, tag_distribution).
  signal.throwIfAborted();
  const tags = await mirrorTags(deps, run.id);
  counts.tags = tags.listed;

  // Only now, with every listed follower confirmed, is "not listed" proof of leaving.
  report('marking');
  signal.throwIfAborted();
  const marked = await markUnlistedFollowersUnsubscribed(
    db,
    { listedSince: run.startedAt, pagesOfRun: listing ? run.id : undefined },
    clock(),
    writer,
  );
  add('markedUnsubscribed', marked);
  if (listing) await dropListingPagesBefore(db, run.id);
  rowsUpserted.inc({ table: 'followers' }, marked);
  report('done');
  return counts;

  /** batchget `openids` in calls of 100, SYNC_BATCH_CONCURRENCY in flight, and store the profiles. */
  async function fetchProfiles(openids: string[]): Promise<void> {
    const fetching = forEachBounded(chunk(openids, BATCHGET_MAX), concurrency, async (batch) => {
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
    try {
      await fetching;
    } catch (error) {
      // A page cut short (45009, a failed call) still stores the profiles it fetched and says
      // so in the checkpoint: the attempt that resumes it skips them instead of fetching them again.
      await flush().catch(() => undefined);
      await save(true).catch(() => undefined);
      throw error;
    }
    await flush();
  }
}
