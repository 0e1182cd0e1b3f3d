/**
 * `follower_events`: every push /wx accepted, recorded once. Its unique key (openid, event,
 * create_time, msg_id, event_key) is the last dedupe guard: a row already processed is never
 * applied again, e.g. a retry that outlived the Redis dedupe window.
 */
import type { Db } from './client.ts';

/** The columns that identify a push (follower_events' unique key). */
export interface FollowerEventKey {
  openid: string;
  event: string;
  createTime: Date;
  msgId: string;
  eventKey: string;
}

/**
 * Records a push (a second record of the same key is a no-op) and returns its row: `inserted`
 * says whether this call wrote it, `processedAt` whether it was applied already.
 */
export async function recordFollowerEvent(
  db: Db,
  key: FollowerEventKey,
  row: { msgType: string; receivedAt: Date; payload: Record<string, string | undefined> },
): Promise<{ id: bigint; processedAt: Date | null; inserted: number } | null> {
  const inserted = await db.followerEvent.createMany({ data: [{ ...key, ...row }], skipDuplicates: true });
  const found = await db.followerEvent.findUnique({
    where: { openid_event_createTime_msgId_eventKey: key },
    select: { id: true, processedAt: true },
  });
  return found && { ...found, inserted: inserted.count };
}

export async function markFollowerEventProcessed(db: Db, id: bigint, at: Date): Promise<void> {
  await db.followerEvent.update({ where: { id }, data: { processedAt: at } });
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
