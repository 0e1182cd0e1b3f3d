/**
 * Tags sync: one tags/get call (the whole list, with WeChat's per-tag user counts) stored as a whole
 * (src/db/tags.ts). The follower sync calls `mirrorTags` too, so the nightly mirror has fresh names
 * beside the tagid_list it just stored; `wxsync sync tags` refreshes them on demand.
 */
import { writeTags } from '../../src/db/tags.ts';
import { rowsUpserted } from '../../src/metrics.ts';
import { tagsContract } from '../../src/sync/tags.ts';
import { getTags } from '../../src/wechat/tags.ts';
import { defineJob, type SyncDeps } from '../types.ts';

/** Fetches and stores the account's tags for run `runId`; returns the write's counters. */
export async function mirrorTags(deps: Pick<SyncDeps, 'db' | 'wechat' | 'now'>, runId: number) {
  const tags = await getTags(deps.wechat);
  const result = await writeTags(deps.db, tags, deps.now?.() ?? new Date(), runId);
  rowsUpserted.inc({ table: 'tags' }, result.listed + result.removed);
  return result;
}

export const tagsJob = defineJob(tagsContract, async ({ deps, run, signal, progress }) => {
  signal.throwIfAborted();
  const counts = { ...(await mirrorTags(deps, run.id)) };
  progress('done', 1, 1, counts);
  return counts;
});
