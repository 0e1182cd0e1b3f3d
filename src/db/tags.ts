/**
 * Writes to `tags`: WeChat's tag list (tags/get) mirrored as a whole. A tag missing from a complete
 * answer gets removed_at (rows are kept so old tagid_list values, e.g. in follower_history, keep
 * their names); one that comes back is un-removed.
 */
import type { Tag } from '../wechat/schemas.ts';
import { countsOf, type Db } from './client.ts';

export interface TagsWriteResult {
  /** Tags never stored before. */
  added: number;
  /** Stored tags whose name changed. */
  renamed: number;
  /** Stored tags present again after being removed. */
  restored: number;
  /** Tags listed (including the ones above). */
  listed: number;
  /** Stored tags the answer no longer lists, now removed_at. */
  removed: number;
}

/** Stores a complete tags/get answer in one statement. `runId`: the sync run writing (lineage). */
export async function writeTags(
  db: Db,
  tags: Tag[],
  at: Date,
  runId: number | null,
): Promise<TagsWriteResult> {
  const unique = [...new Map(tags.map((t) => [t.id, t])).values()];
  const ids = unique.map((t) => t.id);
  const rows = await db.$queryRaw<
    { added: bigint; renamed: bigint; restored: bigint; listed: bigint; removed: bigint }[]
  >`
    WITH before AS (
      SELECT id, name, removed_at FROM tags
    ), up AS (
      INSERT INTO tags AS t (id, name, count, first_seen_at, last_seen_at, removed_at, last_run_id)
      SELECT u.id, u.name, u.count, ${at}, ${at}, NULL, ${runId}::bigint
      FROM unnest(${ids}::int[], ${unique.map((t) => t.name)}::text[], ${unique.map((t) => t.count)}::int[])
        AS u(id, name, count)
      ON CONFLICT (id) DO UPDATE SET
        name = EXCLUDED.name, count = EXCLUDED.count, last_seen_at = EXCLUDED.last_seen_at,
        removed_at = NULL, last_run_id = EXCLUDED.last_run_id
      RETURNING id, name
    ), gone AS (
      UPDATE tags SET removed_at = ${at}, last_run_id = ${runId}::bigint
      WHERE removed_at IS NULL AND NOT (id = ANY(${ids}::int[]))
      RETURNING id
    )
    SELECT count(*) FILTER (WHERE b.id IS NULL) AS added,
           count(*) FILTER (WHERE b.name IS DISTINCT FROM up.name AND b.id IS NOT NULL) AS renamed,
           count(*) FILTER (WHERE b.removed_at IS NOT NULL) AS restored,
           count(*) AS listed,
           (SELECT count(*) FROM gone) AS removed
    FROM up LEFT JOIN before b ON b.id = up.id`;
  return countsOf(rows[0], ['added', 'renamed', 'restored', 'listed', 'removed']);
}
