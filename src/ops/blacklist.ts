/**
 * Blacklist actions shared by `POST|DELETE|GET /admin/blacklist` and `wxsync blacklist ...`.
 * WeChat is written first (20 openids per call, by the client); the openids WeChat accepted are then
 * reflected in `blacklist` at once, so the table does not wait for the next blacklist sync.
 */
import { type BlacklistRow, blacklistPage, markBlacklisted, markUnblacklisted } from '../db/blacklist.ts';
import { type BlacklistWriteResult, blacklistUsers, unblacklistUsers } from '../wechat/blacklist.ts';
import type { OpsDeps } from './deps.ts';
import { OpenidList, Paging, parseInput } from './inputs.ts';

export interface BlacklistWriteReport {
  action: 'add' | 'remove';
  requested: number;
  succeeded: number;
  failed: number;
  /** One entry per openid, in request order: ok, or WeChat's errcode/errmsg for its chunk. */
  results: BlacklistWriteResult[];
}

function report(action: 'add' | 'remove', results: BlacklistWriteResult[]): BlacklistWriteReport {
  const succeeded = results.filter((r) => r.ok).length;
  return { action, requested: results.length, succeeded, failed: results.length - succeeded, results };
}

const okOpenids = (results: BlacklistWriteResult[]) => results.filter((r) => r.ok).map((r) => r.openid);

/** Blacklists `input.openids` (validated: openid shape, 1..1000, duplicates collapsed). */
export async function addToBlacklist(
  deps: Pick<OpsDeps, 'db' | 'wechat' | 'log'>,
  input: unknown,
): Promise<BlacklistWriteReport> {
  const { openids } = parseInput(OpenidList, input);
  const results = await blacklistUsers(deps.wechat, openids);
  await markBlacklisted(deps.db, okOpenids(results));
  const out = report('add', results);
  deps.log.info({ action: 'blacklist_add', requested: out.requested, failed: out.failed }, 'blacklist add');
  return out;
}

/** Removes `input.openids` from the blacklist (same validation as add). */
export async function removeFromBlacklist(
  deps: Pick<OpsDeps, 'db' | 'wechat' | 'log'>,
  input: unknown,
): Promise<BlacklistWriteReport> {
  const { openids } = parseInput(OpenidList, input);
  const results = await unblacklistUsers(deps.wechat, openids);
  await markUnblacklisted(deps.db, okOpenids(results));
  const out = report('remove', results);
  deps.log.info(
    { action: 'blacklist_remove', requested: out.requested, failed: out.failed },
    'blacklist remove',
  );
  return out;
}

export interface BlacklistPage {
  page: number;
  page_size: number;
  total: number;
  entries: BlacklistRow[];
}

/** The stored blacklist as of the last sync or action (view blacklist_current), newest first. */
export async function listBlacklist(deps: Pick<OpsDeps, 'db'>, input: unknown): Promise<BlacklistPage> {
  const { page, page_size } = parseInput(Paging, input);
  const { entries, total } = await blacklistPage(deps.db, {
    limit: page_size,
    offset: (page - 1) * page_size,
  });
  return { page, page_size, total, entries };
}
