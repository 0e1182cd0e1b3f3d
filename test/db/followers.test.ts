import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  confirmListed,
  confirmListedPage,
  countSubscribed,
  markUnlistedFollowersUnsubscribed,
  markUnsubscribed,
  openidsFetchedSince,
  upsertFollowers,
} from '../../src/db/followers.ts';
import type { UserInfo } from '../../src/wechat/schemas.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await freshDatabase();
});
afterAll(async () => t?.drop());

const profile = (openid: string, patch: Partial<UserInfo> = {}): UserInfo => ({
  subscribe: 1,
  openid,
  nickname: '小红🌸',
  sex: 0,
  language: 'zh_CN',
  city: '',
  province: '',
  country: '',
  headimgurl: '',
  subscribe_time: 1_700_000_000,
  unionid: `u_${openid}`,
  remark: '',
  groupid: 0,
  tagid_list: [128, 2],
  subscribe_scene: 'ADD_SCENE_QR_CODE',
  qr_scene: 98765,
  qr_scene_str: '',
  ...patch,
});
const t1 = new Date('2026-01-01T00:00:00Z');
const t2 = new Date('2026-01-02T00:00:00Z');
const t3 = new Date('2026-01-03T00:00:00Z');

describe('upsertFollowers', () => {
  it('inserts, then moves updated_at only for rows whose values changed', async () => {
    const first = await upsertFollowers(t.db, [profile('oA'), profile('oB'), profile('oC')], {
      syncedAt: t1,
    });
    expect(first).toEqual({ inserted: 3, changed: 0, unchanged: 0 });

    const second = await upsertFollowers(
      t.db,
      [profile('oA'), profile('oB', { remark: 'vip' }), profile('oC')],
      {
        syncedAt: t2,
      },
    );
    expect(second).toEqual({ inserted: 0, changed: 1, unchanged: 2 });

    const rows = await t.db.follower.findMany({ orderBy: { openid: 'asc' } });
    expect(
      rows.map((r) => [
        r.openid,
        r.updatedAt.toISOString(),
        r.membershipConfirmedAt?.toISOString(),
        r.profileFetchedAt?.toISOString(),
      ]),
    ).toEqual([
      ['oA', t1.toISOString(), t2.toISOString(), t2.toISOString()],
      ['oB', t2.toISOString(), t2.toISOString(), t2.toISOString()],
      ['oC', t1.toISOString(), t2.toISOString(), t2.toISOString()],
    ]);
    const b = rows[1]!;
    expect(b).toMatchObject({ remark: 'vip', nickname: '小红🌸', tagidList: [128, 2], qrScene: 98765n });
    expect(b.subscribeTime).toEqual(new Date(1_700_000_000 * 1000));
  });

  it("never lets WeChat's post-2021 empty defaults blank stored values, and they do not move updated_at", async () => {
    const rich = {
      nickname: '老王🐱',
      sex: 1,
      city: '广州',
      province: '广东',
      country: '中国',
      headimgurl: 'http://thirdwx.qlogo.cn/x/132',
    };
    await upsertFollowers(t.db, [profile('oK', rich)], { syncedAt: t1 });
    // What user/info sends today: the keys, with "" and sex 0.
    const blank = { nickname: '', sex: 0, city: '', province: '', country: '', headimgurl: '' };
    const r = await upsertFollowers(t.db, [profile('oK', blank)], { syncedAt: t2 });
    expect(r).toEqual({ inserted: 0, changed: 0, unchanged: 1 });
    const kept = await t.db.follower.findUniqueOrThrow({ where: { openid: 'oK' } });
    expect(kept).toMatchObject(rich);
    expect(kept.updatedAt).toEqual(t1);
    expect(kept.membershipConfirmedAt).toEqual(t2);
    // A real new value still wins (and moves updated_at); other fields still follow WeChat.
    const renamed = await upsertFollowers(
      t.db,
      [profile('oK', { ...blank, nickname: '新名字', remark: 'r' })],
      {
        syncedAt: t3,
      },
    );
    expect(renamed.changed).toBe(1);
    const after = await t.db.follower.findUniqueOrThrow({ where: { openid: 'oK' } });
    expect(after).toMatchObject({ ...rich, nickname: '新名字', remark: 'r' });
    expect(after.updatedAt).toEqual(t3);
    // A user first seen with the defaults is stored with them (nothing to keep).
    await upsertFollowers(t.db, [profile('oL', blank)], { syncedAt: t1 });
    expect(await t.db.follower.findUniqueOrThrow({ where: { openid: 'oL' } })).toMatchObject(blank);
  });

  it('keeps the last profile of a user who left and flags them once', async () => {
    await upsertFollowers(t.db, [{ subscribe: 0, openid: 'oC' }], { syncedAt: t3 });
    const c = await t.db.follower.findUniqueOrThrow({ where: { openid: 'oC' } });
    expect(c).toMatchObject({ subscribe: false, nickname: '小红🌸', unionid: 'u_oC' });
    expect(c.unsubscribedAt).toEqual(t3);
    const again = await upsertFollowers(t.db, [{ subscribe: 0, openid: 'oC' }], {
      syncedAt: new Date(t3.getTime() + 1000),
    });
    expect(again).toEqual({ inserted: 0, changed: 0, unchanged: 1 });
  });

  it('collapses an openid named twice in one batch', async () => {
    const r = await upsertFollowers(t.db, [profile('oD'), profile('oD', { remark: 'last' })], {
      syncedAt: t1,
    });
    expect(r.inserted).toBe(1);
    expect((await t.db.follower.findUniqueOrThrow({ where: { openid: 'oD' } })).remark).toBe('last');
  });
});

describe('markUnsubscribed', () => {
  it('flips a follower, creates unknown users, and never undoes a later subscribe', async () => {
    expect(await markUnsubscribed(t.db, 'oA', t3)).toBe(true);
    expect(await t.db.follower.findUniqueOrThrow({ where: { openid: 'oA' } })).toMatchObject({
      subscribe: false,
      unsubscribedAt: t3,
    });
    expect(await markUnsubscribed(t.db, 'oNew', t3)).toBe(true);
    await upsertFollowers(t.db, [profile('oE', { subscribe_time: t3.getTime() / 1000 })], { syncedAt: t3 });
    expect(await markUnsubscribed(t.db, 'oE', t2)).toBe(false);
    expect((await t.db.follower.findUniqueOrThrow({ where: { openid: 'oE' } })).subscribe).toBe(true);
  });
});

describe('markUnlistedFollowersUnsubscribed', () => {
  it('flags the followers a sync did not confirm', async () => {
    const since = new Date('2026-02-01T00:00:00Z');
    await upsertFollowers(t.db, [profile('oB')], { syncedAt: since });
    const before = await t.db.follower.count({ where: { subscribe: true } });
    const n = await markUnlistedFollowersUnsubscribed(t.db, since, since);
    expect(n).toBe(before - 1);
    expect(await t.db.follower.count({ where: { subscribe: true } })).toBe(1);
  });
});

describe('answers older than a recorded event', () => {
  it('a profile fetched before an unsubscribe push does not resubscribe the user', async () => {
    await upsertFollowers(t.db, [profile('oRace')], { syncedAt: t1 });
    const asked = new Date('2026-03-01T00:00:00Z');
    await markUnsubscribed(t.db, 'oRace', new Date('2026-03-01T00:00:05Z'));
    await upsertFollowers(t.db, [profile('oRace')], {
      syncedAt: new Date('2026-03-01T00:00:10Z'),
      fetchedAt: asked,
    });
    expect((await t.db.follower.findUniqueOrThrow({ where: { openid: 'oRace' } })).subscribe).toBe(false);
    // An answer fetched after the unsubscribe (the user came back) does count.
    await upsertFollowers(t.db, [profile('oRace')], { syncedAt: new Date('2026-03-01T00:01:00Z') });
    expect((await t.db.follower.findUniqueOrThrow({ where: { openid: 'oRace' } })).subscribe).toBe(true);
  });

  it('a "left" answer fetched before a resubscribe does not unsubscribe the user', async () => {
    const asked = new Date('2026-04-01T00:00:00Z');
    await upsertFollowers(t.db, [profile('oBack', { subscribe_time: asked.getTime() / 1000 + 5 })], {
      syncedAt: new Date('2026-04-01T00:00:06Z'),
    });
    await upsertFollowers(t.db, [{ subscribe: 0, openid: 'oBack' }], {
      syncedAt: new Date('2026-04-01T00:00:10Z'),
      fetchedAt: asked,
    });
    expect((await t.db.follower.findUniqueOrThrow({ where: { openid: 'oBack' } })).subscribe).toBe(true);
  });
});

describe('confirmListed', () => {
  it('keeps a listed follower whose profile batchget left out from being flagged as gone', async () => {
    const before = new Date('2026-05-01T00:00:00Z');
    await upsertFollowers(t.db, [profile('oListed'), profile('oGone')], { syncedAt: before });
    const runStart = new Date('2026-05-02T00:00:00Z');
    expect(await confirmListed(t.db, ['oListed', 'oNeverStored'], new Date('2026-05-02T00:00:01Z'))).toBe(1);
    await markUnlistedFollowersUnsubscribed(t.db, runStart, new Date('2026-05-02T00:01:00Z'));
    const rows = await t.db.follower.findMany({
      where: { openid: { in: ['oListed', 'oGone'] } },
      orderBy: { openid: 'asc' },
    });
    expect(rows.map((r) => [r.openid, r.subscribe, r.nickname])).toEqual([
      ['oGone', false, '小红🌸'],
      ['oListed', true, '小红🌸'],
    ]);
  });
});

describe('listing a page', () => {
  it('confirms the stored followers it names and returns the new and returning ones', async () => {
    const fetched = new Date('2026-06-01T00:00:00Z');
    await upsertFollowers(t.db, [profile('pKnown1'), profile('pKnown2'), profile('pLeft')], {
      syncedAt: fetched,
    });
    await upsertFollowers(t.db, [{ subscribe: 0, openid: 'pLeft' }], { syncedAt: fetched });
    const listedAt = new Date('2026-06-02T00:00:00Z');
    const todo = await confirmListedPage(t.db, ['pKnown1', 'pNew', 'pLeft', 'pKnown2', 'pNew'], listedAt);
    expect([...todo].sort()).toEqual(['pLeft', 'pNew']);
    const rows = await t.db.follower.findMany({
      where: { openid: { in: ['pKnown1', 'pKnown2', 'pLeft'] } },
      orderBy: { openid: 'asc' },
    });
    // Membership moved, the profile (and updated_at) did not: nothing was fetched.
    expect(
      rows.map((r) => [r.openid, r.membershipConfirmedAt?.toISOString(), r.profileFetchedAt?.toISOString()]),
    ).toEqual([
      ['pKnown1', listedAt.toISOString(), fetched.toISOString()],
      ['pKnown2', listedAt.toISOString(), fetched.toISOString()],
      ['pLeft', fetched.toISOString(), fetched.toISOString()],
    ]);
    expect(rows.every((r) => r.updatedAt.getTime() === fetched.getTime())).toBe(true);
    expect(await confirmListedPage(t.db, [], listedAt)).toEqual([]);
  });

  it('finds the profiles fetched since a moment and counts the subscribed', async () => {
    const since = new Date('2026-07-01T00:00:00Z');
    await upsertFollowers(t.db, [profile('qFresh')], { syncedAt: since });
    const found = await openidsFetchedSince(t.db, ['qFresh', 'pKnown1', 'qNever'], since);
    expect([...found]).toEqual(['qFresh']);
    const [row] = await t.db.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM followers WHERE subscribe`;
    expect(await countSubscribed(t.db)).toBe(Number(row?.n));
  });
});
