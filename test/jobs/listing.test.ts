/**
 * Incremental membership sync (`--mode listing`) against the fake platform over HTTP: after a full
 * mirror, a listing run fetches profiles only for new and returning followers, confirms the rest
 * (membership_confirmed_at) without fetching them (profile_fetched_at stays), flags the unlisted,
 * and ends with the exact membership; a full run afterwards picks up the profile edits a listing
 * cannot see. Plus the schedule: nightly listing, weekly full.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYNC_JOBS } from '../../jobs/registry.ts';
import { runSyncJob } from '../../jobs/runner.ts';
import { scheduledPayload, scheduleEntries, slotJobId } from '../../jobs/scheduler.ts';
import { loadConfig } from '../../src/config.ts';
import { planFollowerCalls } from '../../src/sync/followers.ts';
import { TEST_WECHAT } from '../support/env.ts';
import { asUserInfo, canonicalJson, mirrorOf, type SyncTestEnv, sorted, syncTestEnv } from './support.ts';

const FOLLOWERS = 20_000;

let env: SyncTestEnv;
/** Followers whose remark the first test edits (a listing cannot see it, a full run must). */
let edited: string[] = [];
beforeAll(async () => {
  env = await syncTestEnv({ followers: FOLLOWERS, seed: 31, unsubscribedShare: 0.05, blacklist: 0 });
});
afterAll(async () => env?.close());

const sync = (mode: 'listing' | 'full') =>
  runSyncJob(SYNC_JOBS.followers, { trigger: 'test', mode }, env.deps);

type Stamps = Map<string, { confirmed: number; fetched: number; updated: number }>;
async function stamps(): Promise<Stamps> {
  const rows = await env.t.db.follower.findMany({
    select: { openid: true, membershipConfirmedAt: true, profileFetchedAt: true, updatedAt: true },
  });
  return new Map(
    rows.map((r) => [
      r.openid,
      {
        confirmed: r.membershipConfirmedAt?.getTime() ?? 0,
        fetched: r.profileFetchedAt?.getTime() ?? 0,
        updated: r.updatedAt.getTime(),
      },
    ]),
  );
}

async function expectExactMembership() {
  const m = await mirrorOf(env.t.db);
  expect(m.subscribed).toEqual(sorted(env.fake.state.followerOpenids()));
  expect(m.inconsistent).toEqual([]);
}

describe('follower sync, listing mode', () => {
  it('fetches only new and returning followers, confirms the rest, flags the unlisted', async () => {
    await sync('full');
    await expectExactMembership();
    const state = env.fake.state;
    // Followers who leave, are flagged by a listing, and come back below (stored as gone).
    const back = state.followerOpenids().slice(3_000, 3_005);
    for (const o of back) state.unsubscribe(o);
    expect((await sync('listing')).counts).toMatchObject({ markedUnsubscribed: 5, batchgetCalls: 0 });
    await expectExactMembership();
    const before = await stamps();

    const following = state.followerOpenids();
    const added = state.addFollowers(150);
    const left = following.slice(7_000, 7_040);
    for (const o of left) state.unsubscribe(o);
    for (const o of back) state.resubscribe(o);
    edited = following.slice(12_000, 12_020);
    for (const [i, o] of edited.entries()) state.editProfile(o, { remark: `listing-${i}` });

    const batchgetBefore = env.fake.calls.count('user/info/batchget');
    const userGetBefore = env.fake.calls.count('user/get');
    const result = await sync('listing');
    await expectExactMembership();

    // 20,115 listed: pages of 10,000, 10,000 and 115, then the empty page WeChat ends with.
    expect(env.fake.calls.count('user/get') - userGetBefore).toBe(4);
    // Profiles of the 150 new and the 5 returning followers only: ceil(155 / 100) calls, though
    // they are spread over three pages.
    expect(env.fake.calls.count('user/info/batchget') - batchgetBefore).toBe(2);
    expect(result.params).toEqual({ mode: 'listing' });
    expect(result.counts).toMatchObject({
      listed: FOLLOWERS + 150 - 40,
      confirmed: FOLLOWERS - 5 - 40,
      batchgetCalls: 2,
      profiles: 155,
      inserted: 150,
      changed: 5,
      markedUnsubscribed: 40,
    });

    const after = await stamps();
    const run = await env.t.db.syncRun.findUniqueOrThrow({ where: { id: BigInt(result.runId) } });
    const runStart = run.startedAt.getTime();
    for (const openid of following) {
      const b = before.get(openid)!;
      const a = after.get(openid)!;
      if (left.includes(openid) || back.includes(openid)) continue;
      // Confirmed by this listing, not fetched again, not changed (the edits are not seen yet).
      expect(a.confirmed).toBeGreaterThanOrEqual(runStart);
      expect(a.fetched).toBe(b.fetched);
      expect(a.updated).toBe(b.updated);
    }
    for (const openid of [...added, ...back]) {
      expect(after.get(openid)!.fetched).toBeGreaterThanOrEqual(runStart);
    }
    const rows = await env.t.db.follower.findMany({ where: { openid: { in: [...added, ...back] } } });
    for (const row of rows)
      expect(canonicalJson(asUserInfo(row))).toBe(canonicalJson(state.profile(row.openid)));
    for (const openid of left) {
      const row = await env.t.db.follower.findUniqueOrThrow({ where: { openid } });
      expect(row.subscribe).toBe(false);
      expect(row.unsubscribedAt?.getTime()).toBeGreaterThanOrEqual(runStart);
    }
    const stale = await env.t.db.follower.findMany({ where: { openid: { in: edited } } });
    expect(stale.every((r) => r.remark !== null && !r.remark.startsWith('listing-'))).toBe(true);
  });

  it('a listing with nothing changed fetches no profile and writes no change', async () => {
    const before = await stamps();
    const batchgetBefore = env.fake.calls.count('user/info/batchget');
    const result = await sync('listing');
    expect(env.fake.calls.count('user/info/batchget') - batchgetBefore).toBe(0);
    expect(result.counts).toMatchObject({ batchgetCalls: 0, inserted: 0, changed: 0, markedUnsubscribed: 0 });
    const after = await stamps();
    for (const [openid, b] of before) expect(after.get(openid)?.updated).toBe(b.updated);
    await expectExactMembership();
  });

  it('a full run afterwards fetches every profile again and picks up the edits', async () => {
    const result = await sync('full');
    expect(result.counts.batchgetCalls).toBe(Math.ceil(env.fake.state.followerOpenids().length / 100));
    const rows = await env.t.db.follower.findMany({ where: { openid: { in: edited } } });
    expect(rows.filter((r) => r.remark?.startsWith('listing-'))).toHaveLength(edited.length);
    await expectExactMembership();
  });

  it('refuses an unknown mode', async () => {
    await expect(runSyncJob(SYNC_JOBS.followers, { mode: 'sometimes' }, env.deps)).rejects.toThrow(
      /mode must be one of listing, full/,
    );
  });
});

describe('planning a follower run', () => {
  it('estimates user/get pages and batchget calls per mode, and what a resumed run has left', () => {
    const calls = (input: Parameters<typeof planFollowerCalls>[0]) =>
      Object.fromEntries(planFollowerCalls(input).map((e) => [e.path, e.calls]));
    expect(calls({ mode: 'full', total: 1_000_000, storedSubscribed: 990_000 })).toEqual({
      '/cgi-bin/user/get': 101,
      '/cgi-bin/user/info/batchget': 10_000,
    });
    expect(calls({ mode: 'listing', total: 1_000_000, storedSubscribed: 990_000 })).toEqual({
      '/cgi-bin/user/get': 101,
      '/cgi-bin/user/info/batchget': 100,
    });
    expect(
      calls({ mode: 'full', total: 10_000, storedSubscribed: 0, pagesDone: 0, batchesDone: 40 }),
    ).toEqual({
      '/cgi-bin/user/get': 2,
      '/cgi-bin/user/info/batchget': 60,
    });
  });
});

describe('schedule', () => {
  it('lists nightly listing and weekly full syncs (Sunday 03:00 Beijing by default)', () => {
    const config = loadConfig({ ...TEST_WECHAT, DATABASE_URL: 'postgresql://x@localhost/x' });
    expect(config.CRON_FOLLOWERS).toBe('0 2 * * *');
    expect(config.CRON_FOLLOWERS_FULL).toBe('0 3 * * 0');
    const followers = scheduleEntries().filter((e) => e.job === 'followers');
    expect(followers.map((e) => [e.cron, e.tag])).toEqual([
      ['CRON_FOLLOWERS', 'sched'],
      ['CRON_FOLLOWERS_FULL', 'full-sched'],
    ]);
    const slot = new Date('2026-03-07T19:00:00Z'); // Sunday 03:00 in Beijing
    expect(scheduledPayload('followers', slot)).toEqual({ trigger: 'schedule', mode: 'listing' });
    expect(scheduledPayload('followers', slot, 'full-sched')).toEqual({ trigger: 'schedule', mode: 'full' });
    expect(slotJobId('followers', slot, 'full-sched')).toBe('followers-full-sched-20260307T190000Z');
  });
});
