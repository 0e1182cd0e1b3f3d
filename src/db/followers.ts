/**
 * Writes to `followers`: one SQL statement per batch (INSERT ... SELECT FROM unnest ... ON CONFLICT),
 * never one per row: a 1M-follower sync is 10^4 statements, not 10^6.
 *
 * `updated_at` moves only when a stored value changes, so analysts can ask "what changed today".
 *
 * follower_history is written by triggers on `followers` (prisma/derived.sql), in the statement
 * that changes a row, whoever wrote it. Each function here says who is writing (`Writer`): the
 * trigger records it as the writer that closed and opened the period, and the row keeps the sync
 * run (last_run_id) or push (last_event_id) that last wrote it. A period starts at the row's new
 * updated_at, so writers set updated_at to when the change happened (a push's CreateTime).
 */

import { Prisma } from '../generated/prisma/client.ts';
import type { UserInfo } from '../wechat/schemas.ts';
import { bulkQuery, bulkQueryWith, type Db, WHOLE_LISTING } from './client.ts';

/**
 * Who writes: a sync run (sync_runs.id), the processing of /wx pushes (follower_events.id; one
 * statement may apply several pushes, keyed by openid), or an operator action (its name).
 */
export type Writer =
  | { kind: 'sync'; runId: number }
  | { kind: 'event'; eventId: number | ReadonlyMap<string, number> }
  | { kind: 'admin'; action: string };

/**
 * A FROM item that tells the history triggers who writes, for the rest of this statement's
 * transaction (set_config(..., true): transaction-local, so a pooled connection never carries it
 * into someone else's statement). Joined into the writing statement itself, so no transaction or
 * extra round trip is needed. Without it the trigger records the writer as `unknown`.
 */
function writerItem(writer: Writer | undefined): Prisma.Sql {
  const name =
    writer === undefined ? 'unknown' : writer.kind === 'admin' ? `admin:${writer.action}` : writer.kind;
  return Prisma.sql`(SELECT set_config('wxsync.writer', ${name}, true)) AS _writer`;
}

const runIdOf = (writer: Writer | undefined) => (writer?.kind === 'sync' ? writer.runId : null);
const eventIdOf = (writer: Writer | undefined, openid: string): number | null => {
  if (writer?.kind !== 'event') return null;
  return typeof writer.eventId === 'number' ? writer.eventId : (writer.eventId.get(openid) ?? null);
};

export interface UpsertResult {
  /** Rows that did not exist before. */
  inserted: number;
  /** Existing rows whose stored values changed. */
  changed: number;
  /** Rows confirmed as they were (only membership_confirmed_at and profile_fetched_at moved). */
  unchanged: number;
}

/** Postgres array literal for an int[] column: unnest() cannot carry a ragged 2-D array. */
const intArrayLiteral = (values: number[] | undefined) => `{${(values ?? []).join(',')}}`;
const unixToDate = (seconds: number | undefined) => (seconds === undefined ? null : new Date(seconds * 1000));

/** Last answer wins when one batch names an openid twice (ON CONFLICT cannot touch a row twice). */
function lastByOpenid(infos: UserInfo[]): UserInfo[] {
  return [...new Map(infos.map((info) => [info.openid, info])).values()];
}

/** count(*) arrives as a string from pg (int8). */
type CountRow = { inserted: string; changed: string; total: string };
const toResult = (rows: CountRow[]): UpsertResult => {
  const row = rows[0] ?? { inserted: '0', changed: '0', total: '0' };
  const inserted = Number(row.inserted);
  const changed = Number(row.changed);
  return { inserted, changed, unchanged: Number(row.total) - inserted - changed };
};
const add = (a: UpsertResult, b: UpsertResult): UpsertResult => ({
  inserted: a.inserted + b.inserted,
  changed: a.changed + b.changed,
  unchanged: a.unchanged + b.unchanged,
});

/**
 * Runs one `INSERT ... ON CONFLICT DO UPDATE` (without RETURNING) and counts what it did: rows
 * inserted, rows whose stored values changed (their updated_at is now `at`), rows only confirmed.
 */
async function countedUpsert(db: Db, upsert: Prisma.Sql, at: Date): Promise<UpsertResult> {
  const rows = await bulkQuery<CountRow>(
    db,
    Prisma.sql`
    WITH up AS (${upsert} RETURNING (xmax = 0) AS inserted, updated_at = ${at} AS touched)
    SELECT count(*) FILTER (WHERE inserted) AS inserted,
           count(*) FILTER (WHERE touched AND NOT inserted) AS changed,
           count(*) AS total
    FROM up`,
  );
  return toResult(rows);
}

export interface UpsertOptions {
  /** Stored as membership_confirmed_at (and, unless `changedAt` says otherwise, updated_at of changed rows). */
  syncedAt: Date;
  /**
   * When the change took effect, stored as updated_at of changed rows and so the start of their
   * new follower_history period (default syncedAt). The events worker passes the push's CreateTime.
   */
  changedAt?: Date;
  /** Who writes (history and lineage); absent: recorded as `unknown`. */
  writer?: Writer;
  /**
   * When WeChat was asked (before the call that returned these profiles, default syncedAt): stored
   * as profile_fetched_at. An answer is older than an event recorded after that moment: an
   * unsubscribe (or subscribe) push applied while a sync was fetching is not undone by the sync's
   * stale answer.
   */
  fetchedAt?: Date;
}

/**
 * Stores profiles as WeChat returned them (user/info or batchget). Followers get every field
 * as it came and `unsubscribed_at` cleared; users who left come back as `{subscribe: 0, openid}`
 * only, so for them just the flag (and unionid, when present) changes and the last known profile stays.
 */
export async function upsertFollowers(db: Db, infos: UserInfo[], opts: UpsertOptions): Promise<UpsertResult> {
  const unique = lastByOpenid(infos);
  const following = unique.filter((i) => i.subscribe === 1);
  const left = unique.filter((i) => i.subscribe === 0);
  const w: WriteContext = {
    at: opts.syncedAt,
    changedAt: opts.changedAt ?? opts.syncedAt,
    fetchedAt: opts.fetchedAt ?? opts.syncedAt,
    writer: opts.writer,
  };
  let result: UpsertResult = { inserted: 0, changed: 0, unchanged: 0 };
  if (following.length > 0) result = add(result, await upsertFollowing(db, following, w));
  if (left.length > 0) result = add(result, await upsertLeft(db, left, w));
  return result;
}

interface WriteContext {
  at: Date;
  changedAt: Date;
  fetchedAt: Date;
  writer: Writer | undefined;
}

/**
 * Since 2021-10-20 / 2021-12-27 WeChat keeps these keys but sends empty defaults (`""`, `sex: 0`)
 * for everyone: such a default never blanks a value stored earlier (peers that let it lost their
 * data: niefy/wx-api#67, silenceper#537), so it does not move updated_at either. A real value wins.
 */
const keptUnlessBlank = (column: string, blank: string) =>
  Prisma.raw(`coalesce(nullif(EXCLUDED.${column}, ${blank}), f.${column}, EXCLUDED.${column})`);
const KEPT = {
  nickname: keptUnlessBlank('nickname', "''"),
  sex: keptUnlessBlank('sex', '0'),
  city: keptUnlessBlank('city', "''"),
  province: keptUnlessBlank('province', "''"),
  country: keptUnlessBlank('country', "''"),
  headimgurl: keptUnlessBlank('headimgurl', "''"),
};

async function upsertFollowing(db: Db, infos: UserInfo[], w: WriteContext): Promise<UpsertResult> {
  const { at, changedAt, fetchedAt } = w;
  const col = <T>(pick: (i: UserInfo) => T) => infos.map(pick);
  return countedUpsert(
    db,
    Prisma.sql`
      INSERT INTO followers AS f (openid, unionid, subscribe, nickname, sex, language, city, province, country,
        headimgurl, subscribe_time, remark, groupid, tagid_list, subscribe_scene, qr_scene, qr_scene_str,
        first_seen_at, updated_at, membership_confirmed_at, profile_fetched_at, unsubscribed_at, last_run_id,
        last_event_id)
      SELECT t.openid, t.unionid, true, t.nickname, t.sex, t.language, t.city, t.province, t.country,
        t.headimgurl, t.subscribe_time, t.remark, t.groupid, t.tagid_list::int[], t.subscribe_scene, t.qr_scene,
        t.qr_scene_str, ${at}, ${changedAt}, ${at}, ${fetchedAt}, NULL, ${runIdOf(w.writer)}::bigint,
        t.last_event_id
      FROM ${writerItem(w.writer)}, unnest(
        ${col((i) => i.openid)}::text[], ${col((i) => i.unionid ?? null)}::text[],
        ${col((i) => i.nickname ?? null)}::text[], ${col((i) => i.sex ?? null)}::int[],
        ${col((i) => i.language ?? null)}::text[], ${col((i) => i.city ?? null)}::text[],
        ${col((i) => i.province ?? null)}::text[], ${col((i) => i.country ?? null)}::text[],
        ${col((i) => i.headimgurl ?? null)}::text[], ${col((i) => unixToDate(i.subscribe_time))}::timestamptz[],
        ${col((i) => i.remark ?? null)}::text[], ${col((i) => i.groupid ?? null)}::int[],
        ${col((i) => intArrayLiteral(i.tagid_list))}::text[], ${col((i) => i.subscribe_scene ?? null)}::text[],
        ${col((i) => i.qr_scene ?? null)}::bigint[], ${col((i) => i.qr_scene_str ?? null)}::text[],
        ${col((i) => eventIdOf(w.writer, i.openid))}::bigint[]
      ) AS t(openid, unionid, nickname, sex, language, city, province, country, headimgurl, subscribe_time,
             remark, groupid, tagid_list, subscribe_scene, qr_scene, qr_scene_str, last_event_id)
      ON CONFLICT (openid) DO UPDATE SET
        unionid = EXCLUDED.unionid, subscribe = true, nickname = ${KEPT.nickname}, sex = ${KEPT.sex},
        language = EXCLUDED.language, city = ${KEPT.city}, province = ${KEPT.province},
        country = ${KEPT.country}, headimgurl = ${KEPT.headimgurl}, subscribe_time = EXCLUDED.subscribe_time,
        remark = EXCLUDED.remark, groupid = EXCLUDED.groupid, tagid_list = EXCLUDED.tagid_list,
        subscribe_scene = EXCLUDED.subscribe_scene, qr_scene = EXCLUDED.qr_scene,
        qr_scene_str = EXCLUDED.qr_scene_str, unsubscribed_at = NULL,
        updated_at = CASE WHEN
          (f.unionid, f.subscribe, f.nickname, f.sex, f.language, f.city, f.province, f.country, f.headimgurl,
           f.subscribe_time, f.remark, f.groupid, f.tagid_list, f.subscribe_scene, f.qr_scene, f.qr_scene_str,
           f.unsubscribed_at)
          IS DISTINCT FROM
          (EXCLUDED.unionid, true, ${KEPT.nickname}, ${KEPT.sex}, EXCLUDED.language, ${KEPT.city},
           ${KEPT.province}, ${KEPT.country}, ${KEPT.headimgurl}, EXCLUDED.subscribe_time, EXCLUDED.remark,
           EXCLUDED.groupid, EXCLUDED.tagid_list, EXCLUDED.subscribe_scene, EXCLUDED.qr_scene,
           EXCLUDED.qr_scene_str, NULL::timestamptz)
          THEN EXCLUDED.updated_at ELSE f.updated_at END,
        membership_confirmed_at = EXCLUDED.membership_confirmed_at,
        profile_fetched_at = EXCLUDED.profile_fetched_at,
        last_run_id = coalesce(EXCLUDED.last_run_id, f.last_run_id),
        last_event_id = coalesce(EXCLUDED.last_event_id, f.last_event_id)
      -- An unsubscribe recorded after WeChat was asked is newer than this answer.
      WHERE f.subscribe OR f.unsubscribed_at IS NULL OR f.unsubscribed_at < ${fetchedAt}
    `,
    changedAt,
  );
}

async function upsertLeft(db: Db, infos: UserInfo[], w: WriteContext): Promise<UpsertResult> {
  const { at, changedAt, fetchedAt } = w;
  return countedUpsert(
    db,
    Prisma.sql`
      INSERT INTO followers AS f (openid, unionid, subscribe, first_seen_at, updated_at, membership_confirmed_at,
        profile_fetched_at, unsubscribed_at, last_run_id, last_event_id)
      SELECT t.openid, t.unionid, false, ${at}, ${changedAt}, ${at}, ${fetchedAt}, ${changedAt},
        ${runIdOf(w.writer)}::bigint, t.last_event_id
      FROM ${writerItem(w.writer)},
        unnest(${infos.map((i) => i.openid)}::text[], ${infos.map((i) => i.unionid ?? null)}::text[],
               ${infos.map((i) => eventIdOf(w.writer, i.openid))}::bigint[])
        AS t(openid, unionid, last_event_id)
      ON CONFLICT (openid) DO UPDATE SET
        subscribe = false,
        unionid = coalesce(EXCLUDED.unionid, f.unionid),
        unsubscribed_at = coalesce(f.unsubscribed_at, EXCLUDED.unsubscribed_at),
        updated_at = CASE WHEN f.subscribe OR f.unsubscribed_at IS NULL
                            OR f.unionid IS DISTINCT FROM coalesce(EXCLUDED.unionid, f.unionid)
                          THEN EXCLUDED.updated_at ELSE f.updated_at END,
        membership_confirmed_at = EXCLUDED.membership_confirmed_at,
        profile_fetched_at = EXCLUDED.profile_fetched_at,
        last_run_id = coalesce(EXCLUDED.last_run_id, f.last_run_id),
        last_event_id = coalesce(EXCLUDED.last_event_id, f.last_event_id)
      -- A (re)subscribe recorded after WeChat was asked is newer than this answer.
      WHERE NOT f.subscribe OR f.subscribe_time IS NULL OR f.subscribe_time < ${fetchedAt}
    `,
    changedAt,
  );
}

/**
 * Records that `openid` unfollowed at `at` (an unsubscribe push). A row is created when we never
 * saw the user. A later subscribe already stored (events can be processed out of order after
 * retries) is not undone: the flag only flips when the stored subscribe_time is not after `at`.
 */
export async function markUnsubscribed(db: Db, openid: string, at: Date, writer?: Writer): Promise<boolean> {
  return (await markAllUnsubscribed(db, [openid], at, writer)) > 0;
}

/**
 * markUnsubscribed for several openids that unfollowed at the same `at` (the unsubscribe pushes
 * of one second, applied together), in one statement. Returns the rows changed.
 */
export async function markAllUnsubscribed(
  db: Db,
  openids: readonly string[],
  at: Date,
  writer?: Writer,
): Promise<number> {
  const unique = [...new Set(openids)];
  if (unique.length === 0) return 0;
  // updated_at = the unsubscribe's time: the follower_history period "left" starts then.
  return db.$executeRaw`
    INSERT INTO followers AS f (openid, subscribe, first_seen_at, updated_at, membership_confirmed_at,
      unsubscribed_at, last_run_id, last_event_id)
    SELECT t.openid, false, now(), ${at}, now(), ${at}, ${runIdOf(writer)}::bigint, t.last_event_id
    FROM ${writerItem(writer)},
      unnest(${unique}::text[], ${unique.map((openid) => eventIdOf(writer, openid))}::bigint[])
        AS t(openid, last_event_id)
    ON CONFLICT (openid) DO UPDATE SET
      subscribe = false, unsubscribed_at = EXCLUDED.unsubscribed_at,
      updated_at = EXCLUDED.updated_at, membership_confirmed_at = EXCLUDED.membership_confirmed_at,
      last_run_id = coalesce(EXCLUDED.last_run_id, f.last_run_id),
      last_event_id = coalesce(EXCLUDED.last_event_id, f.last_event_id)
    WHERE f.subscribe AND (f.subscribe_time IS NULL OR f.subscribe_time <= ${at})`;
}

/**
 * Marks unsubscribed every follower a completed listing did not confirm (WeChat lists only current
 * followers). `listedSince` is when the sync run started: rows confirmed by a profile or a push since
 * then have a newer membership_confirmed_at. A listing-mode run also confirms the pages it recorded
 * (`pagesOfRun`, recordListingPage) without rewriting their rows. Never deletes.
 */
export async function markUnlistedFollowersUnsubscribed(
  db: Db,
  listing: { listedSince: Date; pagesOfRun?: number },
  at: Date,
  writer?: Writer,
): Promise<number> {
  const { listedSince, pagesOfRun } = listing;
  const { rowCount } = await bulkQueryWith(
    db,
    WHOLE_LISTING,
    Prisma.sql`
    UPDATE followers f SET subscribe = false, unsubscribed_at = ${at}, updated_at = ${at},
      last_run_id = coalesce(${runIdOf(writer)}::bigint, f.last_run_id)
    FROM ${writerItem(writer)}
    WHERE f.subscribe AND (f.membership_confirmed_at IS NULL OR f.membership_confirmed_at < ${listedSince})
      AND NOT EXISTS (
        SELECT 1 FROM follower_listing_pages p CROSS JOIN unnest(p.openids) AS l(openid)
        WHERE p.run_id = ${pagesOfRun ?? null}::bigint AND l.openid = f.openid)`,
  );
  return rowCount;
}

/**
 * Marks followers a listing named as confirmed (membership_confirmed_at) without a fresh profile,
 * for openids batchget left out of its answer: they keep their stored profile and are not flagged
 * as gone. Openids never stored stay absent (there is nothing to store yet).
 */
export async function confirmListed(db: Db, openids: string[], at: Date, writer?: Writer): Promise<number> {
  if (openids.length === 0) return 0;
  const rows = await bulkQuery<{ n: string }>(
    db,
    Prisma.sql`
    WITH c AS (
      UPDATE followers f SET membership_confirmed_at = ${at},
        last_run_id = coalesce(${runIdOf(writer)}::bigint, f.last_run_id)
      FROM ${writerItem(writer)}, unnest(${openids}::text[]) AS t(openid)
      WHERE f.openid = t.openid AND f.subscribe RETURNING 1)
    SELECT count(*) AS n FROM c`,
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * One user/get page of a listing sync (follower_listing_pages): the listing confirms the followers
 * it names as a set, without rewriting a row per follower. A resumed run records the page it was on
 * again, under the same number.
 */
export async function recordListingPage(
  db: Db,
  page: { runId: number; page: number; listedAt: Date },
  openids: string[],
): Promise<void> {
  await bulkQuery(
    db,
    Prisma.sql`
    INSERT INTO follower_listing_pages (run_id, page, listed_at, openids)
    VALUES (${page.runId}, ${page.page}, ${page.listedAt}, ${openids}::text[])
    ON CONFLICT (run_id, page) DO UPDATE SET listed_at = EXCLUDED.listed_at, openids = EXCLUDED.openids`,
  );
}

/** How many pages of listing `runId` are recorded (a resumed run checks they are all there). */
export async function countListingPages(db: Db, runId: number): Promise<number> {
  return db.followerListingPage.count({ where: { runId: BigInt(runId) } });
}

/**
 * The openids listing `runId` named that are not stored as following (never stored, or stored as
 * gone: new and returning followers), the only ones whose profiles the listing fetches: one hash
 * join of the whole listing against followers, once every page is recorded. Asked again by a
 * resumed run, it leaves out the profiles stored since. Each openid once, though WeChat may list
 * one twice while the total changes (de-duplicated here: a DISTINCT would sort 1M openids).
 */
export async function listedNotFollowing(db: Db, runId: number): Promise<string[]> {
  const { rows } = await bulkQueryWith<{ openid: string }>(
    db,
    WHOLE_LISTING,
    Prisma.sql`
    SELECT l.openid FROM follower_listing_pages p CROSS JOIN unnest(p.openids) AS l(openid)
    WHERE p.run_id = ${runId}::bigint
      AND NOT EXISTS (SELECT 1 FROM followers f WHERE f.openid = l.openid AND f.subscribe)`,
  );
  return [...new Set(rows.map((r) => r.openid))];
}

/**
 * Once listing `runId` has flagged the unlisted, the pages of earlier listings say nothing more:
 * only the latest listing's are kept.
 */
export async function dropListingPagesBefore(db: Db, runId: number): Promise<void> {
  await db.$executeRaw`DELETE FROM follower_listing_pages WHERE run_id < ${runId}`;
}

/**
 * The openids among `openids` whose profile was fetched at or after `since`. A resumed full sync
 * uses it to skip the profiles the interrupted attempt already stored.
 */
export async function openidsFetchedSince(db: Db, openids: string[], since: Date): Promise<Set<string>> {
  if (openids.length === 0) return new Set();
  const rows = await bulkQuery<{ openid: string }>(
    db,
    Prisma.sql`
    SELECT f.openid FROM followers f JOIN unnest(${openids}::text[]) AS t(openid) ON f.openid = t.openid
    WHERE f.profile_fetched_at >= ${since}`,
  );
  return new Set(rows.map((r) => r.openid));
}

/** The stored row of one follower, if any. */
export function findFollower(db: Db, openid: string) {
  return db.follower.findUnique({ where: { openid } });
}

/** Every openid stored as following now. */
export async function subscribedOpenids(db: Db): Promise<string[]> {
  const rows = await db.$queryRaw<{ openid: string }[]>`SELECT openid FROM followers WHERE subscribe`;
  return rows.map((r) => r.openid);
}

/**
 * Counts for the demo's verdict: rows kept for users who left, and of the given openids those
 * flagged as gone (`gone`) and those stored as following (`added`).
 */
export async function followerCounts(
  db: Db,
  openids: { gone: string[]; added: string[] },
): Promise<{ unsubscribedRows: number; flagged: number; added: number }> {
  const [row] = await db.$queryRaw<{ unsubscribed: bigint; flagged: bigint; added: bigint }[]>`
    SELECT
      (SELECT count(*) FROM followers WHERE NOT subscribe) AS unsubscribed,
      (SELECT count(*) FROM followers
        WHERE openid = ANY(${openids.gone}::text[]) AND NOT subscribe AND unsubscribed_at IS NOT NULL) AS flagged,
      (SELECT count(*) FROM followers WHERE openid = ANY(${openids.added}::text[]) AND subscribe) AS added`;
  return {
    unsubscribedRows: Number(row?.unsubscribed ?? 0),
    flagged: Number(row?.flagged ?? 0),
    added: Number(row?.added ?? 0),
  };
}

/** Stored users following now and those who left (the follower_status view). */
export async function followerStatusCounts(db: Db): Promise<{ subscribed: number; unsubscribed: number }> {
  const rows = await db.$queryRaw<{ status: string; followers: number }[]>`
    SELECT status, followers FROM follower_status`;
  const count = (status: string) => rows.find((r) => r.status === status)?.followers ?? 0;
  return { subscribed: count('subscribed'), unsubscribed: count('unsubscribed') };
}

/** Followers stored as following now (what a listing expects WeChat to list, before it lists). */
export async function countSubscribed(db: Db): Promise<number> {
  const [row] = await db.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM followers WHERE subscribe`;
  return Number(row?.n ?? 0);
}
