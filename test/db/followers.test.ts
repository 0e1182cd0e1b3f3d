import { describe, expect, it } from 'vitest';
import * as followers from '../../src/db/followers.ts';
import type { UserInfo } from '../../src/wechat/schemas.ts';
import { freshDatabase } from '../support/db.ts';
import { perFile } from '../support/per-file.ts';

const t = perFile(freshDatabase);

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
    const first = await followers.upsertFollowers(t.db, [profile('oA'), profile('oB'), profile('oC')], {
      syncedAt: t1,
    });
    expect(first).toEqual({ inserted: 3, changed: 0, unchanged: 0 });

    const second = await followers.upsertFollowers(
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
    await followers.upsertFollowers(t.db, [profile('oK', rich)], { syncedAt: t1 });
    // What user/info sends today: the keys, with "" and sex 0.
    const blank = { nickname: '', sex: 0, city: '', province: '', country: '', headimgurl: '' };
    const r = await followers.upsertFollowers(t.db, [profile('oK', blank)], { syncedAt: t2 });
    expect(r).toEqual({ inserted: 0, changed: 0, unchanged: 1 });
    const kept = await t.db.follower.findUniqueOrThrow({ where: { openid: 'oK' } });
    expect(kept).toMatchObject(rich);
    expect(kept.updatedAt).toEqual(t1);
    expect(kept.membershipConfirmedAt).toEqual(t2);
    // A real new value still wins (and moves updated_at); other fields still follow WeChat.
    const renamed = await followers.upsertFollowers(
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
    await followers.upsertFollowers(t.db, [profile('oL', blank)], { syncedAt: t1 });
    expect(await t.db.follower.findUniqueOrThrow({ where: { openid: 'oL' } })).toMatchObject(blank);
  });

  it('keeps the last profile of a user who left and flags them once', async () => {
    await followers.upsertFollowers(t.db, [{ subscribe: 0, openid: 'oC' }], { syncedAt: t3 });
    const c = await t.db.follower.findUniqueOrThrow({ where: { openid: 'oC' } });
    expect(c).toMatchObject({ subscribe: false, nickname: '小红🌸', unionid: 'u_oC' });
    expect(c.unsubscribedAt).toEqual(t3);
    const again = await followers.upsertFollowers(t.db, [{ subscribe: 0, openid: 'oC' }], {
      syncedAt: new Date(t3.getTime() + 1000),
    });
    expect(again).toEqual({ inserted: 0, changed: 0, unchanged: 1 });
  });

  it('collapses an openid named twice in one batch', async () => {
    const r = await followers.upsertFollowers(t.db, [profile('oD'), profile('oD', { remark: 'last' })], {
      syncedAt: t1,
    });
    expect(r.inserted).toBe(1);
    expect((await t.db.follower.findUniqueOrThrow({ where: { openid: 'oD' } })).remark).toBe('last');
  });
});

describe('markUnsubscribed', () => {
  it('flips a follower, creates unknown users, and never undoes a later subscribe', async () => {
    expect(await followers.markUnsubscribed(t.db, 'oA', t3)).toBe(true);
    expect(await t.db.follower.findUniqueOrThrow({ where: { openid: 'oA' } })).toMatchObject({
      subscribe: false,
      unsubscribedAt: t3,
    });
    expect(await followers.markUnsubscribed(t.db, 'oNew', t3)).toBe(true);
    await followers.upsertFollowers(t.db, [profile('oE', { subscribe_time: t3.getTime() / 1000 })], {
      syncedAt: t3,
    });
    expect(await followers.markUnsubscribed(t.db, 'oE', t2)).toBe(false);
    expect((await t.db.follower.findUniqueOrThrow({ where: { openid: 'oE' } })).subscribe).toBe(true);
  });
});

describe('markUnlistedFollowersUnsubscribed', () => {
  it('flags the followers a sync did not confirm', async () => {
    const since = new Date('2026-02-01T00:00:00Z');
    await followers.upsertFollowers(t.db, [profile('oB')], { syncedAt: since });
    const before = await t.db.follower.count({ where: { subscribe: true } });
    const n = await followers.markUnlistedFollowersUnsubscribed(t.db, { listedSince: since }, since);
    expect(n).toBe(before - 1);
    expect(await t.db.follower.count({ where: { subscribe: true } })).toBe(1);
  });
});

describe('answers older than a recorded event', () => {
  it('a profile fetched before an unsubscribe push does not resubscribe the user', async () => {
    await followers.upsertFollowers(t.db, [profile('oRace')], { syncedAt: t1 });
    const asked = new Date('2026-03-01T00:00:00Z');
    await followers.markUnsubscribed(t.db, 'oRace', new Date('2026-03-01T00:00:05Z'));
    await followers.upsertFollowers(t.db, [profile('oRace')], {
      syncedAt: new Date('2026-03-01T00:00:10Z'),
      fetchedAt: asked,
    });
    expect((await t.db.follower.findUniqueOrThrow({ where: { openid: 'oRace' } })).subscribe).toBe(false);
    // An answer fetched after the unsubscribe (the user came back) does count.
    await followers.upsertFollowers(t.db, [profile('oRace')], { syncedAt: new Date('2026-03-01T00:01:00Z') });
    expect((await t.db.follower.findUniqueOrThrow({ where: { openid: 'oRace' } })).subscribe).toBe(true);
  });

  it('a "left" answer fetched before a resubscribe does not unsubscribe the user', async () => {
    const asked = new Date('2026-04-01T00:00:00Z');
    await followers.upsertFollowers(
      t.db,
      [profile('oBack', { subscribe_time: asked.getTime() / 1000 + 5 })],
      {
        syncedAt: new Date('2026-04-01T00:00:06Z'),
      },
    );
    await followers.upsertFollowers(t.db, [{ subscribe: 0, openid: 'oBack' }], {
      syncedAt: new Date('2026-04-01T00:00:10Z'),
      fetchedAt: asked,
    });
    expect((await t.db.follower.findUniqueOrThrow({ where: { openid: 'oBack' } })).subscribe).toBe(true);
  });
});

describe('confirmListed', () => {
  it('keeps a listed follower whose profile batchget left out from being flagged as gone', async () => {
    const before = new Date('2026-05-01T00:00:00Z');
    await followers.upsertFollowers(t.db, [profile('oListed'), profile('oGone')], { syncedAt: before });
    const runStart = new Date('2026-05-02T00:00:00Z');
    expect(
      await followers.confirmListed(t.db, ['oListed', 'oNeverStored'], new Date('2026-05-02T00:00:01Z')),
    ).toBe(1);
    await followers.markUnlistedFollowersUnsubscribed(
      t.db,
      { listedSince: runStart },
      new Date('2026-05-02T00:01:00Z'),
    );
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
  it('records pages, finds the new and returning followers of the whole listing, rewrites no row', async () => {
    const fetched = new Date('2026-06-01T00:00:00Z');
    await followers.upsertFollowers(t.db, [profile('pKnown1'), profile('pKnown2'), profile('pLeft')], {
      syncedAt: fetched,
    });
    await followers.upsertFollowers(t.db, [{ subscribe: 0, openid: 'pLeft' }], { syncedAt: fetched });
    const rowsBefore = await t.db.follower.findMany({ orderBy: { openid: 'asc' } });
    const run = await t.db.syncRun.create({ data: { job: 'followers' } });
    const listedAt = new Date('2026-06-02T00:00:00Z');
    const page = { runId: Number(run.id), page: 0, listedAt };
    await followers.recordListingPage(t.db, page, ['pKnown1', 'pNew', 'pLeft']);
    await followers.recordListingPage(t.db, { ...page, page: 1 }, ['pKnown2', 'pNew']);
    // pNew is on both pages (WeChat's listing shifts while followers come and go): asked for once.
    expect((await followers.listedNotFollowing(t.db, page.runId)).sort()).toEqual(['pLeft', 'pNew']);
    // The confirmation is the recorded pages: no followers row moved (nor follower_history).
    expect(await t.db.follower.findMany({ orderBy: { openid: 'asc' } })).toEqual(rowsBefore);
    const pages = await t.db.followerListingPage.findMany({
      where: { runId: run.id },
      orderBy: { page: 'asc' },
    });
    expect(pages).toEqual([
      { runId: run.id, page: 0, listedAt, openids: ['pKnown1', 'pNew', 'pLeft'] },
      { runId: run.id, page: 1, listedAt, openids: ['pKnown2', 'pNew'] },
    ]);
    expect(await followers.countListingPages(t.db, page.runId)).toBe(2);
    // A resumed run lists the page it was on again: the page is replaced, not added.
    const again = { ...page, page: 1, listedAt: new Date('2026-06-02T00:05:00Z') };
    await followers.recordListingPage(t.db, again, ['pKnown2']);
    expect(await t.db.followerListingPage.findFirst({ where: { runId: run.id, page: 1 } })).toEqual({
      runId: run.id,
      page: 1,
      listedAt: again.listedAt,
      openids: ['pKnown2'],
    });
    // Profiles stored since (a resumed run asks again) drop out of what is left to fetch.
    await followers.upsertFollowers(t.db, [profile('pNew')], { syncedAt: listedAt });
    expect(await followers.listedNotFollowing(t.db, page.runId)).toEqual(['pLeft']);
    expect(await followers.listedNotFollowing(t.db, page.runId + 1000)).toEqual([]);
  });

  it('flags the subscribed followers no page of the run named and nothing confirmed since', async () => {
    const before = new Date('2026-06-10T00:00:00Z');
    const names = ['lA', 'lB', 'lC', 'lPushed'];
    await followers.upsertFollowers(
      t.db,
      names.map((o) => profile(o)),
      { syncedAt: before },
    );
    const run = await t.db.syncRun.create({
      data: { job: 'followers', startedAt: new Date('2026-06-11T00:00:00Z') },
    });
    const runId = Number(run.id);
    const listedAt = new Date('2026-06-11T00:00:01Z');
    await followers.recordListingPage(t.db, { runId, page: 0, listedAt }, ['lA']);
    await followers.recordListingPage(t.db, { runId, page: 1, listedAt }, ['lC', 'lUnknown']);
    // lPushed followed again by a push during the run: confirmed since its start, not listed.
    await followers.upsertFollowers(t.db, [profile('lPushed')], {
      syncedAt: new Date('2026-06-11T00:00:02Z'),
    });
    // Followers stored before this test, and never listed here, are flagged too: count them.
    const othersSubscribed = await t.db.follower.count({
      where: { subscribe: true, openid: { notIn: names } },
    });
    const marked = await followers.markUnlistedFollowersUnsubscribed(
      t.db,
      { listedSince: run.startedAt, pagesOfRun: runId },
      new Date('2026-06-11T00:01:00Z'),
    );
    expect(marked).toBe(1 + othersSubscribed);
    const rows = await t.db.follower.findMany({
      where: { openid: { in: names } },
      orderBy: { openid: 'asc' },
    });
    expect(rows.map((r) => [r.openid, r.subscribe])).toEqual([
      ['lA', true],
      ['lB', false],
      ['lC', true],
      ['lPushed', true],
    ]);
    // The run's pages stay (who was listed last night); an older run's are dropped.
    const older = await t.db.syncRun.create({ data: { job: 'followers' } });
    await followers.recordListingPage(t.db, { runId: Number(older.id), page: 0, listedAt }, ['lA']);
    const latest = await t.db.syncRun.create({ data: { job: 'followers' } });
    await followers.recordListingPage(t.db, { runId: Number(latest.id), page: 0, listedAt }, ['lA']);
    await followers.dropListingPagesBefore(t.db, Number(latest.id));
    const kept = await t.db.followerListingPage.findMany({ select: { runId: true } });
    expect(kept.map((p) => p.runId)).toEqual([latest.id]);
  });

  it('finds the profiles fetched since a moment and counts the subscribed', async () => {
    const since = new Date('2026-07-01T00:00:00Z');
    await followers.upsertFollowers(t.db, [profile('qFresh')], { syncedAt: since });
    const found = await followers.openidsFetchedSince(t.db, ['qFresh', 'pKnown1', 'qNever'], since);
    expect([...found]).toEqual(['qFresh']);
    const [row] = await t.db.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM followers WHERE subscribe`;
    expect(await followers.countSubscribed(t.db)).toBe(Number(row?.n));
  });
});
