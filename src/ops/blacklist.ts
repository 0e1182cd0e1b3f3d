/**
 * Blacklist actions shared by `POST|DELETE|GET /admin/blacklist` and `wxsync blacklist ...`.
 * WeChat is written first (20 openids per call, by the client); the openids WeChat accepted are then
 * reflected in `blacklist` at once, so the table does not wait for the next blacklist sync.
 */
import { type BlacklistRow, blacklistPage, markBlacklisted, markUnblacklisted } from '../db/blacklist.ts';
import { type BlacklistWriteResult, blacklistUsers, unblacklistUsers } from '../wechat/blacklist.ts';
import type { OpsDeps } from './deps.ts';
import { OpenidList, Paging, parseInput } from './inputs.ts';

type BlacklistAction = 'add' | 'remove';

export interface BlacklistWriteReport {
  action: BlacklistAction;
  requested: number;
  succeeded: number;
  failed: number;
  /** One entry per openid, in request order: ok, or WeChat's errcode/errmsg for its chunk. */
  results: BlacklistWriteResult[];
}

/** Each action's WeChat call and the table write that reflects what WeChat accepted. */
const WRITES = {
  add: { call: blacklistUsers, reflect: markBlacklisted },
  remove: { call: unblacklistUsers, reflect: markUnblacklisted },
} as const;

async function writeBlacklist(
  deps: Pick<OpsDeps, 'db' | 'wechat' | 'log'>,
  action: BlacklistAction,
  input: unknown,
): Promise<BlacklistWriteReport> {
  const { openids } = parseInput(OpenidList, input);
  const results = await WRITES[action].call(deps.wechat, openids);
  await WRITES[action].reflect(
    deps.db,
    results.filter((r) => r.ok).map((r) => r.openid),
  );
  const succeeded = results.filter((r) => r.ok).length;
  const out = { action, requested: results.length, succeeded, failed: results.length - succeeded, results };
  deps.log.info(
    { action: `blacklist_${action}`, requested: out.requested, failed: out.failed },
    `blacklist ${action}`,
  );
  return out;
}

/** Blacklists `input.openids` (validated: openid shape, 1..1000, duplicates collapsed). */
export const addToBlacklist = (deps: Pick<OpsDeps, 'db' | 'wechat' | 'log'>, input: unknown) =>
  writeBlacklist(deps, 'add', input);

/** Removes `input.openids` from the blacklist (same validation as add). */
export const removeFromBlacklist = (deps: Pick<OpsDeps, 'db' | 'wechat' | 'log'>, input: unknown) =>
  writeBlacklist(deps, 'remove', input);

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
