/**
 * Writes to `blacklist`. Rows are never deleted: leaving the list sets removed_at, coming back
 * clears it, so the table keeps the history and the view blacklist_current is WeChat's list.
 */
import type { Db } from './client.ts';

export interface BlacklistPageResult {
  /** openids never seen on the blacklist before. */
  added: number;
  /** openids that had left the list (removed_at set) and are on it again. */
  relisted: number;
  /** openids confirmed as already listed. */
  confirmed: number;
}

/**
 * Records one page of WeChat's blacklist (one statement). A re-listed row gets listed_at = `at`:
 * listed_at is the start of the current listing, so blacklist_size_daily does not count the user
 * during the gap when they were off the list.
 */
export async function upsertBlacklistPage(
  db: Db,
  openids: string[],
  at: Date,
  runId?: number,
): Promise<BlacklistPageResult> {
  const unique = [...new Set(openids)];
  if (unique.length === 0) return { added: 0, relisted: 0, confirmed: 0 };
  const rows = await db.$queryRaw<{ added: bigint; relisted: bigint; total: bigint }[]>`
    WITH before AS (
      SELECT openid, removed_at FROM blacklist WHERE openid = ANY(${unique}::text[])
    ), up AS (
      INSERT INTO blacklist AS b (openid, listed_at, last_synced_at, removed_at, last_run_id)
      SELECT t.openid, ${at}, ${at}, NULL, ${runId ?? null}::bigint FROM unnest(${unique}::text[]) AS t(openid)
      ON CONFLICT (openid) DO UPDATE SET
        last_synced_at = EXCLUDED.last_synced_at,
        last_run_id = coalesce(EXCLUDED.last_run_id, b.last_run_id),
        listed_at = CASE WHEN b.removed_at IS NULL THEN b.listed_at ELSE EXCLUDED.listed_at END,
        removed_at = NULL
      RETURNING openid
    )
    SELECT count(*) FILTER (WHERE before.openid IS NULL) AS added,
           count(*) FILTER (WHERE before.removed_at IS NOT NULL) AS relisted,
           count(*) AS total
    FROM up LEFT JOIN before USING (openid)`;
  const row = rows[0] ?? { added: 0n, relisted: 0n, total: 0n };
  const added = Number(row.added);
  const relisted = Number(row.relisted);
  return { added, relisted, confirmed: Number(row.total) - added - relisted };
}

/**
 * After a COMPLETE listing: every row still listed that the listing did not confirm (last_synced_at
 * before `listedSince`) has left WeChat's blacklist.
 */
export async function markUnlistedBlacklistRemoved(
  db: Db,
  listedSince: Date,
  at: Date,
  runId?: number,
): Promise<number> {
  return db.$executeRaw`
    UPDATE blacklist SET removed_at = ${at}, last_run_id = coalesce(${runId ?? null}::bigint, last_run_id)
    WHERE removed_at IS NULL AND (last_synced_at IS NULL OR last_synced_at < ${listedSince})`;
}

/**
 * An operator blacklisted `openids` and WeChat accepted: removed_at cleared. A user coming back
 * after a removal starts a new listing period (listed_at = now), so blacklist_size_daily does not
 * count them during the gap.
 */
export async function markBlacklisted(db: Db, openids: string[]): Promise<void> {
  if (openids.length === 0) return;
  await db.$executeRaw`
    INSERT INTO blacklist (openid, listed_at, last_synced_at, removed_at)
    SELECT openid, now(), now(), NULL FROM unnest(${openids}::text[]) AS t(openid)
    ON CONFLICT (openid) DO UPDATE SET
      listed_at = CASE WHEN blacklist.removed_at IS NULL THEN blacklist.listed_at ELSE now() END,
      last_synced_at = now(),
      removed_at = NULL`;
}

/** An operator took `openids` off the blacklist: rows are flagged, never deleted, so the history stays queryable. */
export async function markUnblacklisted(db: Db, openids: string[]): Promise<void> {
  if (openids.length === 0) return;
  await db.$executeRaw`
    UPDATE blacklist SET removed_at = now(), last_synced_at = now()
    WHERE openid = ANY(${openids}::text[]) AND removed_at IS NULL`;
}

export interface BlacklistRow {
  openid: string;
  listed_at: Date;
  last_synced_at: Date | null;
}

/** One page of the stored blacklist (view blacklist_current), newest first, and its size. */
export async function blacklistPage(
  db: Db,
  page: { limit: number; offset: number },
): Promise<{ entries: BlacklistRow[]; total: number }> {
  const [entries, counted] = await Promise.all([
    db.$queryRaw<BlacklistRow[]>`
      SELECT openid, listed_at, last_synced_at FROM blacklist_current
      ORDER BY listed_at DESC, openid
      LIMIT ${page.limit} OFFSET ${page.offset}`,
    db.$queryRaw<{ total: number }[]>`SELECT count(*)::int AS total FROM blacklist_current`,
  ]);
  return { entries, total: counted[0]?.total ?? 0 };
}

/** Whether `openid` is on the stored blacklist now. */
export async function isBlacklisted(db: Db, openid: string): Promise<boolean> {
  const row = await db.blacklistEntry.findFirst({
    where: { openid, removedAt: null },
    select: { openid: true },
  });
  return row !== null;
}

/** Every openid listed now (removed_at unset). */
export async function listedOpenids(db: Db): Promise<string[]> {
  const rows = await db.$queryRaw<
    { openid: string }[]
  >`SELECT openid FROM blacklist WHERE removed_at IS NULL`;
  return rows.map((r) => r.openid);
}
