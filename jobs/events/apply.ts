/**
 * Applies a batch of pushes to PostgreSQL with set-based writes and shared profile fetches:
 * a burst of 10,000 subscribes is ~100 batchget calls and a few hundred statements, where one
 * push at a time was 10,000 user/info calls and 40,000 round trips.
 *
 * Per batch:
 * 1. every push is recorded in follower_events (one statement); a push whose row was processed
 *    before (a replay that outlived every Redis window), or that appears twice in the batch, is
 *    `already_processed` and not applied again;
 * 2. the subscribes' openids are fetched with user/info/batchget, at most 100 a call. A call
 *    refused because of one openid (e.g. 40003 invalid openid) is split in halves until the bad
 *    openid is alone, so it fails by itself; a transient failure (or one of the whole account)
 *    fails the subscribes of that call, each with the reason;
 * 3. the writes, in the pushes' order per openid (CreateTime, then arrival): a subscribe upserts
 *    the fetched profile (the truth when asked: a user who already left is stored as left), an
 *    unsubscribe flags the row (never undoing a later subscribe stored first, see
 *    markAllUnsubscribed). Openids with one push each (nearly all) are written together, one
 *    statement per CreateTime second and kind. An openid batchget left out of its answer is
 *    handled as the follower sync does: its stored row is confirmed as following, its profile
 *    kept, nothing invented (the push is `recorded`);
 * 4. the applied pushes' rows are marked processed (one statement).
 * A push that fails gets its own `{ error }`: the caller isolates it (its job retries alone).
 */
import type { Db } from '../../src/db/client.ts';
import {
  type FollowerEventRecord,
  markFollowerEventsProcessed,
  recordFollowerEvents,
} from '../../src/db/follower-events.ts';
import { confirmListed, markAllUnsubscribed, upsertFollowers } from '../../src/db/followers.ts';
import type { EventJobPayload } from '../../src/events/jobs.ts';
import { eventName, messageId } from '../../src/events/message.ts';
import type { Log } from '../../src/logger.ts';
import { eventProfilesLeftOut, eventStoredSeconds, rowsUpserted } from '../../src/metrics.ts';
import type { WeChatClient } from '../../src/wechat/client.ts';
import { ACCOUNT_WIDE_ERRCODES, WeChatApiError, WeChatResponseError } from '../../src/wechat/errors.ts';
import { BATCHGET_MAX, type UserInfo } from '../../src/wechat/schemas.ts';
import { batchGetUserInfo } from '../../src/wechat/users.ts';
import { chunk } from '../../src/wechat/util.ts';
import { forEachBounded } from '../pool.ts';

export interface ApplyDeps {
  db: Db;
  wechat: WeChatClient;
  log: Log;
}

export type EventOutcome = 'applied' | 'recorded' | 'already_processed';

/** What became of one push: its outcome, or the reason it failed (it then retries on its own). */
export type PushResult = { outcome: EventOutcome } | { error: unknown };

/** batchget calls of one batch in flight at once (a batcher's batch needs one). */
const FETCH_CONCURRENCY = 4;

type Kind = 'subscribe' | 'unsubscribe' | 'other';

interface Item {
  index: number;
  push: EventJobPayload;
  openid: string;
  kind: Kind;
  createTime: Date;
  id?: bigint;
}

function kindOf(push: EventJobPayload): Kind {
  const { message } = push;
  if (message.MsgType !== 'event') return 'other';
  const event = message.Event?.toLowerCase();
  return event === 'subscribe' ? 'subscribe' : event === 'unsubscribe' ? 'unsubscribe' : 'other';
}

function recordOf(item: Item): FollowerEventRecord {
  const { message, receivedAt } = item.push;
  return {
    openid: item.openid,
    event: eventName(message),
    createTime: item.createTime,
    msgId: messageId(message) ?? '',
    eventKey: message.EventKey ?? '',
    msgType: message.MsgType,
    receivedAt: new Date(receivedAt),
    payload: message,
  };
}

export async function applyPushes(
  pushes: readonly EventJobPayload[],
  deps: ApplyDeps,
): Promise<PushResult[]> {
  const results: Array<PushResult | undefined> = new Array(pushes.length);
  const items: Item[] = pushes.map((push, index) => ({
    index,
    push,
    openid: push.message.FromUserName,
    kind: kindOf(push),
    createTime: new Date(Number(push.message.CreateTime) * 1000),
  }));
  try {
    const recorded = await recordFollowerEvents(deps.db, items.map(recordOf));
    rowsUpserted.inc({ table: 'follower_events' }, recorded.filter((r) => r.inserted).length);
    const todo: Item[] = [];
    const taken = new Set<bigint>();
    for (const item of items) {
      const row = recorded[item.index]!;
      if (row.processedAt !== null || taken.has(row.id)) {
        results[item.index] = { outcome: 'already_processed' };
        continue;
      }
      taken.add(row.id);
      item.id = row.id;
      todo.push(item);
    }

    const askedAt = new Date();
    const wanted = [...new Set(todo.filter((i) => i.kind === 'subscribe').map((i) => i.openid))];
    const profiles = await fetchProfiles(deps.wechat, wanted);
    for (const item of todo) {
      const failure = item.kind === 'subscribe' ? profiles.failed.get(item.openid) : undefined;
      if (failure !== undefined) results[item.index] = { error: failure.error };
    }
    const writable = todo.filter((i) => results[i.index] === undefined);
    await write(deps.db, writable, profiles.infos, askedAt);
    if (profiles.missing.length > 0) {
      await confirmListed(deps.db, profiles.missing, new Date());
      const pushesLeftOut = writable.filter((i) => i.kind === 'subscribe' && !profiles.infos.has(i.openid));
      eventProfilesLeftOut.inc(pushesLeftOut.length);
      deps.log.warn(
        { openids: profiles.missing.length },
        'batchget left subscribing openids out: their stored rows are confirmed, their profiles kept',
      );
    }

    const processedAt = new Date();
    await markFollowerEventsProcessed(
      deps.db,
      writable.map((i) => i.id!),
      processedAt,
    );
    for (const item of writable) {
      const applied =
        item.kind === 'unsubscribe' || (item.kind === 'subscribe' && profiles.infos.has(item.openid));
      results[item.index] = { outcome: applied ? 'applied' : 'recorded' };
      eventStoredSeconds.observe(
        { kind: item.kind },
        Math.max(0, (processedAt.getTime() - Date.parse(item.push.receivedAt)) / 1000),
      );
    }
  } catch (error) {
    // A statement failed: every push not settled yet retries (its writes are idempotent).
    for (const item of items) results[item.index] ??= { error };
  }
  return results as PushResult[];
}

/**
 * The writes of the pushes to apply, in each openid's order. Round r holds every openid's r-th
 * push (nearly always round 0 only); within a round openids are distinct, so their writes are
 * grouped into one statement per kind and CreateTime second.
 */
async function write(
  db: Db,
  items: Item[],
  infos: ReadonlyMap<string, UserInfo>,
  askedAt: Date,
): Promise<void> {
  const byOpenid = new Map<string, Item[]>();
  for (const item of items) {
    if (item.kind === 'other') continue;
    const list = byOpenid.get(item.openid);
    if (list) list.push(item);
    else byOpenid.set(item.openid, [item]);
  }
  const rounds: Item[][] = [];
  for (const list of byOpenid.values()) {
    list.sort((a, b) => a.createTime.getTime() - b.createTime.getTime() || a.index - b.index);
    for (const [r, item] of list.entries()) {
      const round = rounds[r];
      if (round) round.push(item);
      else rounds[r] = [item];
    }
  }
  for (const round of rounds) {
    const groups = new Map<string, Item[]>();
    for (const item of round) {
      // A subscribe whose profile batchget left out has nothing to write (confirmed instead).
      if (item.kind === 'subscribe' && !infos.has(item.openid)) continue;
      const key = `${item.kind}:${item.createTime.getTime()}`;
      const group = groups.get(key);
      if (group) group.push(item);
      else groups.set(key, [item]);
    }
    // Unsubscribes before subscribes of the same second: that second's subscribe is newer than
    // the row the unsubscribe flags, and its profile was fetched after both.
    const ordered = [...groups.values()].sort(
      (a, b) =>
        a[0]!.createTime.getTime() - b[0]!.createTime.getTime() ||
        (a[0]!.kind === 'unsubscribe' ? -1 : 1) - (b[0]!.kind === 'unsubscribe' ? -1 : 1),
    );
    for (const group of ordered) {
      const [first] = group as [Item];
      const writer = { kind: 'event' as const, eventId: new Map(group.map((i) => [i.openid, Number(i.id)])) };
      if (first.kind === 'unsubscribe') {
        await markAllUnsubscribed(
          db,
          group.map((i) => i.openid),
          first.createTime,
          writer,
        );
      } else {
        // changedAt: the follower_history period this subscribe opens starts at the push's CreateTime.
        await upsertFollowers(
          db,
          group.map((i) => infos.get(i.openid)!),
          { syncedAt: new Date(), fetchedAt: askedAt, changedAt: first.createTime, writer },
        );
      }
      rowsUpserted.inc({ table: 'followers' }, group.length);
    }
  }
}

interface Profiles {
  infos: Map<string, UserInfo>;
  /** Openids whose profile could not be fetched, with the reason. */
  failed: Map<string, { error: unknown }>;
  /** Openids batchget answered without (left out of user_info_list). */
  missing: string[];
}

/**
 * A refusal that one openid of the call can cause (e.g. 40003 invalid openid, or an answer whose
 * one profile does not parse): worth splitting the call. Transient errors, token trouble and
 * account-wide refusals (quota, IP whitelist, unauthorised API) would fail every half alike.
 */
function oneOpenidMayCause(error: unknown): boolean {
  if (error instanceof WeChatResponseError) return true;
  return (
    error instanceof WeChatApiError && error.kind === 'permanent' && !ACCOUNT_WIDE_ERRCODES.has(error.errcode)
  );
}

async function fetchProfiles(wechat: WeChatClient, openids: string[]): Promise<Profiles> {
  const profiles: Profiles = { infos: new Map(), failed: new Map(), missing: [] };
  const fetchPart = async (part: string[]): Promise<void> => {
    try {
      const infos = await batchGetUserInfo(wechat, part);
      for (const info of infos) profiles.infos.set(info.openid, info);
      for (const openid of part) if (!profiles.infos.has(openid)) profiles.missing.push(openid);
    } catch (error) {
      if (part.length > 1 && oneOpenidMayCause(error)) {
        const half = Math.ceil(part.length / 2);
        await fetchPart(part.slice(0, half));
        await fetchPart(part.slice(half));
        return;
      }
      for (const openid of part) profiles.failed.set(openid, { error });
    }
  };
  await forEachBounded(chunk(openids, BATCHGET_MAX), FETCH_CONCURRENCY, fetchPart);
  return profiles;
}
