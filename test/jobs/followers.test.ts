/**
 * Follower and blacklist sync against the fake platform over HTTP (25,001 followers): exact mirror,
 * convergence after changes with updated_at moving only for changed rows, idempotence, faults.
 */
import { describe, expect, it } from 'vitest';
import { SYNC_JOBS } from '../../jobs/registry.ts';
import { runSyncJob } from '../../jobs/runner.ts';
import { upsertBlacklistPage } from '../../src/db/blacklist.ts';
import { upsertFollowers } from '../../src/db/followers.ts';
import { listRuns } from '../../src/db/sync-runs.ts';
import type { SyncJobName } from '../../src/sync/registry.ts';
import type { UserInfo } from '../../src/wechat/schemas.ts';
import { getUserInfo } from '../../src/wechat/users.ts';
import { asUserInfo, canonicalJson, mirrorOf, sorted } from '../support/mirror.ts';
import { perFile } from '../support/per-file.ts';
import { syncTestEnv } from '../support/sync-env.ts';

const FOLLOWERS = 25_001;
const ONE_PASS_BATCHGETS = 100 + 100 + 51;

const env = perFile(() =>
  syncTestEnv({
    followers: FOLLOWERS,
    seed: 11,
    unsubscribedShare: 0.05,
    blacklist: 120,
    blacklistPageSize: 50,
  }),
);
let seededGone: string[] = [];

const sync = (name: SyncJobName) => runSyncJob(SYNC_JOBS[name], { trigger: 'test' }, env.deps);

async function expectExactMirror() {
  const m = await mirrorOf(env.t.db);
  const following = env.fake.state.followerOpenids();
  expect(m.subscribed.length).toBe(following.length);
  expect(m.subscribed).toEqual(sorted(following));
  expect(m.inconsistent).toEqual([]);
  expect(m.blacklist).toEqual(sorted(env.fake.state.blacklistOpenids()));
  // Every stored non-follower is really gone on the platform.
  const stillFollowing = m.unsubscribed.filter((o) => env.fake.state.profile(o).subscribe === 1);
  expect(stillFollowing).toEqual([]);
  return m;
}

/**
 * Stored profiles of `openids` equal, byte for byte (canonical JSON), to the fake's user/info
 * answers, but for `kept`: stored values WeChat's empty defaults must not blank.
 */
async function expectProfilesEqual(openids: string[], kept: Partial<UserInfo> = {}) {
  const rows = await env.t.db.follower.findMany({ where: { openid: { in: openids } } });
  expect(rows.length).toBe(openids.length);
  for (const row of rows) {
    expect(canonicalJson(asUserInfo(row))).toBe(
      canonicalJson({ ...env.fake.state.profile(row.openid), ...kept }),
    );
  }
}

const sample = (xs: string[], n: number) => {
  const step = Math.max(1, Math.floor(xs.length / n));
  return xs.filter((_, i) => i % step === 0).slice(0, n);
};

describe('follower + blacklist sync', () => {
  it('mirrors a 25,001-follower account exactly', async () => {
    // Old data: users stored as followers by an earlier sync who have left since, and a user who
    // is no longer blacklisted.
    seededGone = env.fake.state.exFollowerOpenids().slice(0, 30);
    const old = new Date('2025-01-01T00:00:00Z');
    await upsertFollowers(
      env.t.db,
      seededGone.map((openid) => ({ subscribe: 1 as const, openid, nickname: 'old' })),
      { syncedAt: old },
    );
    await upsertBlacklistPage(env.t.db, [seededGone[0] as string], old);

    const followers = await sync('followers');
    const blacklist = await sync('blacklist');

    const m = await expectExactMirror();
    expect(m.subscribed.length).toBe(FOLLOWERS);
    expect(m.unsubscribed).toEqual(sorted(seededGone));
    expect(followers.counts).toMatchObject({
      inserted: FOLLOWERS,
      listed: FOLLOWERS,
      pages: 3,
      markedUnsubscribed: 30,
    });
    expect(blacklist.counts).toMatchObject({ listed: 120, added: 120, removed: 1 });
    expect(env.fake.calls.count('user/info/batchget')).toBe(ONE_PASS_BATCHGETS);
    expect(env.fake.calls.maxBatch('user/info/batchget')).toBeLessThanOrEqual(100);

    // The fake's state answers as its HTTP endpoint does, and the stored rows equal both.
    const some = sample(env.fake.state.followerOpenids(), 300);
    for (const openid of some.slice(0, 5)) {
      expect(canonicalJson(await getUserInfo(env.wechat, openid))).toBe(
        canonicalJson(env.fake.state.profile(openid)),
      );
    }
    await expectProfilesEqual(some);

    const runs = await listRuns(env.t.db);
    expect(runs.map((r) => [r.job, r.status, r.trigger, r.attempts])).toEqual([
      ['blacklist', 'succeeded', 'test', 1],
      ['followers', 'succeeded', 'test', 1],
    ]);
    expect(runs[1]?.counts).toMatchObject({ inserted: FOLLOWERS });
  });

  it('converges after the account changes; updated_at moves only for changed rows', async () => {
    const before = new Map(
      (await env.t.db.follower.findMany({ select: { openid: true, updatedAt: true } })).map((r) => [
        r.openid,
        r.updatedAt.getTime(),
      ]),
    );
    const state = env.fake.state;
    const following = state.followerOpenids();
    const added = state.addFollowers(40);
    const left = following.slice(5_000, 5_025);
    for (const o of left) state.unsubscribe(o);
    const edited = following.slice(12_000, 12_020);
    for (const [i, o] of edited.entries()) state.editProfile(o, { remark: `vip-${i}` });
    const back = seededGone.slice(0, 3);
    for (const o of back) state.resubscribe(o);
    const unchangedEdit = following[20_000] as string; // an "edit" that changes nothing
    state.editProfile(unchangedEdit, { remark: state.profile(unchangedEdit).remark });
    const blacklisted = state.blacklistOpenids();
    state.unblacklist(blacklisted.slice(0, 7));
    state.blacklist(following.slice(100, 110));

    const followers = await sync('followers');
    const blacklist = await sync('blacklist');
    await expectExactMirror();
    await expectProfilesEqual([...added, ...edited]);
    // Returning users: as WeChat answers them, except the nickname stored before they left, which
    // its empty default ("") does not blank.
    await expectProfilesEqual(back, { nickname: 'old' });

    const after = await env.t.db.follower.findMany({ select: { openid: true, updatedAt: true } });
    const moved = after.filter((r) => before.get(r.openid) !== r.updatedAt.getTime()).map((r) => r.openid);
    expect(sorted(moved)).toEqual(sorted([...added, ...left, ...edited, ...back]));
    expect(followers.counts).toMatchObject({ inserted: 40, changed: 20 + 3, markedUnsubscribed: 25 });
    expect(blacklist.counts).toMatchObject({ added: 10, removed: 7 });
  });

  it('re-lists a user who comes back on the blacklist', async () => {
    const state = env.fake.state;
    const removed = (await env.t.db.blacklistEntry.findFirstOrThrow({ where: { removedAt: { not: null } } }))
      .openid;
    state.blacklist([removed]);
    const r = await sync('blacklist');
    expect(r.counts).toMatchObject({ relisted: 1, removed: 0 });
    const row = await env.t.db.blacklistEntry.findUniqueOrThrow({ where: { openid: removed } });
    expect(row.removedAt).toBeNull();
    await expectExactMirror();
  });

  it('is idempotent: running again with no change leaves the same rows', async () => {
    const dump = async () => ({
      followers: await env.t.db.$queryRaw`
        SELECT openid, unionid, subscribe, nickname, sex, language, city, province, country, headimgurl,
               subscribe_time, remark, groupid, tagid_list, subscribe_scene, qr_scene, qr_scene_str,
               first_seen_at, updated_at, unsubscribed_at
        FROM followers ORDER BY openid`,
      blacklist: await env.t.db
        .$queryRaw`SELECT openid, listed_at, removed_at FROM blacklist ORDER BY openid`,
    });
    const first = await dump();
    const f = await sync('followers');
    const b = await sync('blacklist');
    expect(await dump()).toEqual(first);
    expect(f.counts).toMatchObject({ inserted: 0, changed: 0, markedUnsubscribed: 0 });
    expect(b.counts).toMatchObject({ added: 0, relisted: 0, removed: 0 });
  });

  it('reaches the exact mirror through errcode -1, 45011, HTTP 502 and forced token expiry', async () => {
    const state = env.fake.state;
    const added = state.addFollowers(15);
    const edited = state.followerOpenids().slice(3_000, 3_010);
    for (const [i, o] of edited.entries())
      state.editProfile(o, { remark: `faulty-${i}`, tagid_list: [2, 100 + i] });
    state.blacklist(state.followerOpenids().slice(200, 203));
    const batchgetsBefore = env.fake.calls.count('user/info/batchget');
    const tokensBefore = env.fake.calls.tokenFetches();

    env.fake.faults.set('*', { errcode: -1, errorRate: 0.05, http502Rate: 0.04 });
    env.fake.faults.set('user/info/batchget', { errcode: 45011, errorRate: 0.06 });
    env.fake.faults.expireTokenEvery(0.3);
    try {
      await sync('followers');
      await sync('blacklist');
    } finally {
      env.fake.faults.clear();
    }
    await expectExactMirror();
    await expectProfilesEqual([...added, ...edited]);
    // The faults really happened: retried batchgets and fresh tokens after forced expiry.
    expect(env.fake.calls.count('user/info/batchget') - batchgetsBefore).toBeGreaterThan(ONE_PASS_BATCHGETS);
    expect(env.fake.calls.tokenFetches() - tokensBefore).toBeGreaterThan(1);
  });
});
