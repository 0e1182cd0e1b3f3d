/**
 * Comparing the mirror with the platform: a stored follower as user/info would answer for them,
 * canonical JSON (byte-for-byte comparison), a snapshot of who is stored as following, and sorting.
 */
import type { Db } from '../../src/db/client.ts';
import type { UserInfo } from '../../src/wechat/schemas.ts';

type FollowerRow = Awaited<ReturnType<Db['follower']['findFirstOrThrow']>>;

/** A stored follower as user/info would answer for them (to compare with the fake byte for byte). */
export function asUserInfo(row: FollowerRow): UserInfo {
  if (!row.subscribe)
    return { subscribe: 0, openid: row.openid, ...(row.unionid ? { unionid: row.unionid } : {}) };
  const info: UserInfo = {
    subscribe: 1,
    openid: row.openid,
    nickname: row.nickname ?? undefined,
    sex: row.sex ?? undefined,
    language: row.language ?? undefined,
    city: row.city ?? undefined,
    province: row.province ?? undefined,
    country: row.country ?? undefined,
    headimgurl: row.headimgurl ?? undefined,
    subscribe_time: row.subscribeTime ? row.subscribeTime.getTime() / 1000 : undefined,
    unionid: row.unionid ?? undefined,
    remark: row.remark ?? undefined,
    groupid: row.groupid ?? undefined,
    tagid_list: row.tagidList,
    subscribe_scene: row.subscribeScene ?? undefined,
    qr_scene: row.qrScene === null ? undefined : Number(row.qrScene),
    qr_scene_str: row.qrSceneStr ?? undefined,
  };
  return info;
}

/** JSON with sorted keys and no undefined members: equal strings = equal answers, byte for byte. */
export function canonicalJson(value: object): string {
  const entries = Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify(Object.fromEntries(entries));
}

/** Asserts-friendly snapshot of the mirror: subscribed openids, unsubscribed openids, blacklist. */
export async function mirrorOf(db: Db) {
  const rows = await db.$queryRaw<{ openid: string; subscribe: boolean; unsub: boolean }[]>`
    SELECT openid, subscribe, unsubscribed_at IS NOT NULL AS unsub FROM followers`;
  const blacklist = await db.$queryRaw<{ openid: string }[]>`SELECT openid FROM blacklist_current`;
  return {
    subscribed: rows
      .filter((r) => r.subscribe)
      .map((r) => r.openid)
      .sort(),
    unsubscribed: rows
      .filter((r) => !r.subscribe)
      .map((r) => r.openid)
      .sort(),
    /** Rows whose flag and unsubscribed_at disagree (must stay empty). */
    inconsistent: rows.filter((r) => r.subscribe === r.unsub).map((r) => r.openid),
    blacklist: blacklist.map((r) => r.openid).sort(),
  };
}

export const sorted = (xs: string[]) => [...xs].sort();
