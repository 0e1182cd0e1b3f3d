/**
 * Incremental membership sync (`--mode listing`) against the fake platform over HTTP: after a full
 * mirror, a listing run fetches profiles only for new and returning followers, confirms the rest
 * (follower_membership.membership_confirmed_at) without fetching them or rewriting their rows
 * (profile_fetched_at and updated_at stay), flags the unlisted,
 * and ends with the exact membership; a full run afterwards picks up the profile edits a listing
 * cannot see. Plus the schedule: nightly listing, weekly full.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYNC_JOBS } from '../../jobs/registry.ts';
import { runSyncJob } from '../../jobs/runner.ts';
import { scheduledPayload, scheduleEntries, slotJobId } from '../../jobs/scheduler.ts';
import { loadConfig } from '../../src/config.ts';
import { getRun } from '../../src/db/sync-runs.ts';
import { planFollowerCalls } from '../../src/sync/followers.ts';
import { SyncPausedError } from '../../src/sync/quota.ts';
import { TEST_WECHAT } from '../support/env.ts';
import { asUserInfo, canonicalJson, mirrorOf, sorted } from '../support/mirror.ts';
import { type SyncTestEnv, syncTestEnv } from '../support/sync-env.ts';

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
  const rows = await env.t.db.$queryRaw<
    { openid: string; confirmed: Date | null; fetched: Date | null; updated: Date }[]
  >`SELECT m.openid, m.membership_confirmed_at AS confirmed, m.profile_fetched_at AS fetched, f.updated_at AS updated
    FROM follower_membership m JOIN followers f USING (openid)`;
  return new Map(
    rows.map((r) => [
      r.openid,
      {
        confirmed: r.confirmed?.getTime() ?? 0,
        fetched: r.fetched?.getTime() ?? 0,
        updated: r.updated.getTime(),
      },
    ]),
  );
}

const USER_GET = '/cgi-bin/user/get';

/** A listing run paused by 45009 once `pages` user/get calls are spent; its sync_runs id. */
async function listingPausedAfter(pages: number): Promise<number> {
  const limit = env.fake.state.quotas.figures(USER_GET)?.daily_limit ?? 0;
  env.fake.state.quotas.setUsed({ [USER_GET]: limit - pages });
  const error = await runSyncJob(
    SYNC_JOBS.followers,
    { trigger: 'test', mode: 'listing', force: true },
    env.deps,
  ).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(SyncPausedError);
  return (error as SyncPausedError).runId;
}

/** A new quota day, then the listing again (it resumes the paused run): the result and its user/get calls. */
async function resumeListing() {
  env.fake.state.quotas.setUsed({ [USER_GET]: 0 });
  const before = env.fake.calls.count('user/get');
  const resumed = await sync('listing');
  return { resumed, userGetCalls: env.fake.calls.count('user/get') - before };
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

  it('a listing paused by the user/get quota resumes from its recorded pages, exact', async () => {
    const state = env.fake.state;
    const added = state.addFollowers(30);
    const left = state.followerOpenids().slice(15_000, 15_010);
    for (const o of left) state.unsubscribe(o);
    // One page left today: the listing records page 0, then meets 45009 on page 1.
    const runId = await listingPausedAfter(1);
    const paused = await getRun(env.t.db, runId);
    expect(paused).toMatchObject({ status: 'paused', checkpoint: { pagesDone: 1, listingComplete: false } });
    expect(await env.t.db.followerListingPage.count({ where: { runId: BigInt(runId) } })).toBe(1);
    // Nothing was flagged while the listing was incomplete.
    expect(await env.t.db.follower.count({ where: { openid: { in: left }, subscribe: false } })).toBe(0);

    const { resumed, userGetCalls } = await resumeListing();
    expect(resumed).toMatchObject({ runId, resumed: true });
    // Pages 1, 2 and the empty last page; page 0 is not listed again.
    expect(userGetCalls).toBe(3);
    expect(resumed.counts).toMatchObject({ inserted: 30, markedUnsubscribed: 10, batchgetCalls: 1 });
    expect(await env.t.db.follower.count({ where: { openid: { in: added }, subscribe: true } })).toBe(30);
    await expectExactMembership();
  });

  it('a resumed listing whose earlier pages are not recorded lists again from the first page', async () => {
    const state = env.fake.state;
    const left = state.followerOpenids().slice(1_000, 1_003);
    for (const o of left) state.unsubscribe(o);
    const runId = await listingPausedAfter(2);
    expect((await getRun(env.t.db, runId))?.checkpoint).toMatchObject({ pagesDone: 2 });
    // As a checkpoint written before listings recorded their pages would find them.
    await env.t.db.followerListingPage.deleteMany({ where: { runId: BigInt(runId) } });
    const { resumed, userGetCalls } = await resumeListing();
    expect(resumed).toMatchObject({ runId, resumed: true });
    expect(userGetCalls).toBe(4);
    // Listed again from page 0 (else every follower on pages 0 and 1 would now be flagged as gone).
    expect(resumed.counts).toMatchObject({
      markedUnsubscribed: 3,
      pages: 3,
      listed: state.followerOpenids().length,
    });
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
