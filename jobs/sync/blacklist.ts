/**
 * Blacklist sync: every getblacklist page is upserted as it arrives (one statement per page); once
 * the listing is complete, rows it did not confirm get removed_at. The table keeps the history; the
 * view blacklist_current ends equal to WeChat's list. A retried attempt lists again from the start
 * (a blacklist is small) and judges "not listed" by its own start time.
 */
import { markUnlistedBlacklistRemoved, upsertBlacklistPage } from '../../src/db/blacklist.ts';
import { rowsUpserted } from '../../src/metrics.ts';
import { blacklistContract } from '../../src/sync/blacklist.ts';
import { iterateBlacklistPages } from '../../src/wechat/blacklist.ts';
import { defineJob } from '../types.ts';

export const blacklistJob = defineJob(blacklistContract, async ({ deps, run, signal, progress }) => {
  const counts = { pages: 0, listed: 0, added: 0, relisted: 0, confirmed: 0, removed: 0, wechatTotal: 0 };
  const since = run.attemptStartedAt;
  for await (const page of iterateBlacklistPages(deps.wechat)) {
    signal.throwIfAborted();
    const r = await upsertBlacklistPage(deps.db, page.openids, new Date(), run.id);
    counts.pages += 1;
    counts.listed += page.openids.length;
    counts.added += r.added;
    counts.relisted += r.relisted;
    counts.confirmed += r.confirmed;
    counts.wechatTotal = page.total;
    rowsUpserted.inc({ table: 'blacklist' }, r.added + r.relisted);
    progress('listing', counts.listed, page.total, counts);
  }
  signal.throwIfAborted();
  counts.removed = await markUnlistedBlacklistRemoved(deps.db, since, new Date(), run.id);
  rowsUpserted.inc({ table: 'blacklist' }, counts.removed);
  progress('done', counts.listed, counts.listed, counts);
  return counts;
});
