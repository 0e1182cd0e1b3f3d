/**
 * Blacklist actions shared by `POST|DELETE|GET /admin/blacklist` and `wxsync blacklist ...`.
 * WeChat is written first (20 openids per call, by the client); the openids WeChat accepted are then
 * reflected in `blacklist` at once, so the table does not wait for the next blacklist sync.
 */
import type { Db } from '../db/client.ts';
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

/**
 * Listed now: removed_at cleared. A user coming back after a removal starts a new listing period
 * (listed_at = now), so blacklist_size_daily does not count them during the gap.
 */
async function markListed(db: Db, openids: string[]): Promise<void> {
  if (openids.length === 0) return;
  await db.$executeRaw`
    INSERT INTO blacklist (openid, listed_at, last_synced_at, removed_at)
    SELECT openid, now(), now(), NULL FROM unnest(${openids}::text[]) AS t(openid)
    ON CONFLICT (openid) DO UPDATE SET
      listed_at = CASE WHEN blacklist.removed_at IS NULL THEN blacklist.listed_at ELSE now() END,
      last_synced_at = now(),
      removed_at = NULL`;
}

/** Rows are flagged, never deleted, so the blacklist's history stays queryable. */
async function markRemoved(db: Db, openids: string[]): Promise<void> {
  if (openids.length === 0) return;
  await db.$executeRaw`
    UPDATE blacklist SET removed_at = now(), last_synced_at = now()
    WHERE openid = ANY(${openids}::text[]) AND removed_at IS NULL`;
}

const okOpenids = (results: BlacklistWriteResult[]) => results.filter((r) => r.ok).map((r) => r.openid);

/** Blacklists `input.openids` (validated: openid shape, 1..1000, duplicates collapsed). */
export async function addToBlacklist(
  deps: Pick<OpsDeps, 'db' | 'wechat' | 'log'>,
  input: unknown,
): Promise<BlacklistWriteReport> {
  const { openids } = parseInput(OpenidList, input);
  const results = await blacklistUsers(deps.wechat, openids);
  await markListed(deps.db, okOpenids(results));
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
  await markRemoved(deps.db, okOpenids(results));
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
  entries: { openid: string; listed_at: Date; last_synced_at: Date | null }[];
}

/** The stored blacklist as of the last sync or action (view blacklist_current), newest first. */
export async function listBlacklist(deps: Pick<OpsDeps, 'db'>, input: unknown): Promise<BlacklistPage> {
  const { page, page_size } = parseInput(Paging, input);
  const [entries, counted] = await Promise.all([
    deps.db.$queryRaw<BlacklistPage['entries']>`
      SELECT openid, listed_at, last_synced_at FROM blacklist_current
      ORDER BY listed_at DESC, openid
      LIMIT ${page_size} OFFSET ${(page - 1) * page_size}`,
    deps.db.$queryRaw<{ total: number }[]>`SELECT count(*)::int AS total FROM blacklist_current`,
  ]);
  return { page, page_size, total: counted[0]?.total ?? 0, entries };
}
