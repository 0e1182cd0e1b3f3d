/**
 * `follower_events`: every push /wx accepted, recorded once. Its unique key (openid, event,
 * create_time, msg_id, event_key) is the last dedupe guard: a row already processed is never
 * applied again, e.g. a retry that outlived the Redis dedupe window.
 *
 * The events worker applies pushes in batches, so both writes here take many rows in one
 * statement (a burst of 10,000 subscribes is ~100 statements of each, not 10,000).
 */
import { Prisma } from '../generated/prisma/client.ts';
import { bulkQuery, type Db } from './client.ts';

/** The columns that identify a push (follower_events' unique key). */
export interface FollowerEventKey {
  openid: string;
  event: string;
  createTime: Date;
  msgId: string;
  eventKey: string;
}

export interface FollowerEventRecord extends FollowerEventKey {
  msgType: string;
  receivedAt: Date;
  payload: Record<string, string | undefined>;
}

export interface RecordedFollowerEvent {
  id: bigint;
  /** When it was applied already (a replay of a push processed before), else null. */
  processedAt: Date | null;
  /** This call wrote the row (false: it existed, or an earlier record of this call has its key). */
  inserted: boolean;
}

/**
 * Records pushes in one statement (a key already recorded is left as it is) and returns each
 * one's row, in the order given. Two records with one key in the same call share one row: the
 * first is `inserted`, the second is not.
 */
export async function recordFollowerEvents(
  db: Db,
  records: readonly FollowerEventRecord[],
): Promise<RecordedFollowerEvent[]> {
  if (records.length === 0) return [];
  const col = <T>(pick: (r: FollowerEventRecord) => T) => records.map(pick);
  // The main query does not see rows the CTE inserts (one snapshot): new rows come from RETURNING,
  // rows that were there from the join.
  const rows = await bulkQuery<{ ord: string; id: string; processed_at: Date | null; inserted: boolean }>(
    db,
    Prisma.sql`
      WITH input AS (
        SELECT * FROM unnest(
          ${col((r) => r.openid)}::text[], ${col((r) => r.event)}::text[],
          ${col((r) => r.createTime)}::timestamptz[], ${col((r) => r.msgId)}::text[],
          ${col((r) => r.eventKey)}::text[], ${col((r) => r.msgType)}::text[],
          ${col((r) => r.receivedAt)}::timestamptz[], ${col((r) => JSON.stringify(r.payload))}::text[]
        ) WITH ORDINALITY AS t(openid, event, create_time, msg_id, event_key, msg_type, received_at, payload, ord)
      ), ins AS (
        INSERT INTO follower_events (openid, event, create_time, msg_id, event_key, msg_type, received_at, payload)
        SELECT openid, event, create_time, msg_id, event_key, msg_type, received_at, payload::jsonb FROM input
        ON CONFLICT (openid, event, create_time, msg_id, event_key) DO NOTHING
        RETURNING id, openid, event, create_time, msg_id, event_key
      )
      SELECT i.ord, coalesce(n.id, e.id) AS id, e.processed_at, n.id IS NOT NULL AS inserted
      FROM input i
      LEFT JOIN ins n USING (openid, event, create_time, msg_id, event_key)
      LEFT JOIN follower_events e USING (openid, event, create_time, msg_id, event_key)
      ORDER BY i.ord`,
  );
  const seen = new Set<string>();
  return rows.map((row) => {
    const first = !seen.has(row.id);
    seen.add(row.id);
    return { id: BigInt(row.id), processedAt: row.processed_at, inserted: row.inserted && first };
  });
}

/** Marks rows as applied to followers at `at` (one statement). */
export async function markFollowerEventsProcessed(db: Db, ids: readonly bigint[], at: Date): Promise<void> {
  if (ids.length === 0) return;
  await db.$executeRaw`
    UPDATE follower_events SET processed_at = ${at} WHERE id = ANY(${ids.map(String)}::bigint[])`;
}

/** follower_events rows received since `since`: recorded, and of those processed by the worker. */
export async function countFollowerEventsSince(
  db: Db,
  since: Date,
): Promise<{ recorded: number; applied: number }> {
  const [recorded, applied] = await Promise.all([
    db.followerEvent.count({ where: { receivedAt: { gte: since } } }),
    db.followerEvent.count({ where: { receivedAt: { gte: since }, processedAt: { not: null } } }),
  ]);
  return { recorded, applied };
}

/** When the newest recorded push arrived (ids are in arrival order), null before the first. */
export async function latestEventReceivedAt(db: Db): Promise<Date | null> {
  const [row] = await db.$queryRaw<{ received_at: Date }[]>`
    SELECT received_at FROM follower_events ORDER BY id DESC LIMIT 1`;
  return row?.received_at ?? null;
}
