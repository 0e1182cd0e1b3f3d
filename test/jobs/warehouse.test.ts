/**
 * The analyst's warehouse over a scripted account history: follows, unfollows, re-follows, tag and
 * remark edits, a deleted and a renamed tag, QR-scene subscribes and a SCAN, across five syncs and
 * two bursts of /wx events, with one clock (the fake platform's and the syncs') moved between them.
 * Every figure is exact: follower_history rows and writers, followers_on() for chosen days, and
 * each view (tag_distribution, follower_tags, qr_scene_performance, cohort_retention,
 * returning_followers, hourly_follow_events, daily_events_vs_datacube), plus lineage.
 *
 * Times are UTC; Beijing is UTC+8 (a day ends at 16:00Z).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as applyPush } from '../../jobs/events/processor.ts';
import { SYNC_JOBS } from '../../jobs/registry.ts';
import { runSyncJob } from '../../jobs/runner.ts';
import { WxMessage } from '../../src/events/message.ts';
import type { SyncJobName } from '../../src/sync/registry.ts';
import { type SyncTestEnv, syncTestEnv } from '../support/sync-env.ts';

let clock = Date.parse('2026-01-13T00:00:00Z');
const setClock = (iso: string) => {
  clock = Date.parse(iso);
};
const ms = (iso: string) => Date.parse(iso);
const sec = (iso: string) => Date.parse(iso) / 1000;

let env: SyncTestEnv;
/** Initial followers F1..F6 (user/get order), then N1 and N2 who follow through QR codes. */
const who: Record<string, string> = {};
const label = (openid: string) => Object.entries(who).find(([, o]) => o === openid)?.[0] ?? openid;
const runs: Record<string, number> = {};
const events: Record<string, number> = {};

beforeAll(async () => {
  // The fake's statistics end the day before it starts: 2026-01-03..2026-01-12.
  env = await syncTestEnv(
    { followers: 6, unsubscribedShare: 0, blacklist: 0, statsDays: 10, seed: 13, now: () => clock },
    { now: () => new Date(clock) },
  );
  const state = env.fake.state;
  state.followerOpenids().forEach((openid, i) => {
    who[`F${i + 1}`] = openid;
  });
  const tags: number[][] = [[2], [2, 100], [], [], [101], []];
  for (let i = 1; i <= 6; i++) {
    state.editProfile(who[`F${i}`] as string, {
      subscribe_time: sec(`2025-12-0${i}T04:00:00Z`),
      subscribe_scene: 'ADD_SCENE_SEARCH',
      qr_scene: 0,
      qr_scene_str: '',
      remark: '',
      tagid_list: tags[i - 1],
    });
  }
});
afterAll(async () => env?.close());

const sync = async (name: SyncJobName, at: string, payload: Record<string, unknown> = {}) => {
  setClock(at);
  const result = await runSyncJob(SYNC_JOBS[name], { trigger: 'test', ...payload }, env.deps);
  return result;
};

/** A push as WeChat sends it, applied by the events worker's handler; returns its follower_events.id. */
async function push(openid: string, at: string, fields: Record<string, string>): Promise<number> {
  const message = WxMessage.parse({
    ToUserName: env.fake.state.originalId,
    FromUserName: openid,
    CreateTime: String(sec(at)),
    MsgType: 'event',
    ...fields,
  });
  await applyPush({
    payload: { message, receivedAt: new Date(ms(at) + 1000).toISOString() },
    deps: { db: env.t.db, wechat: env.wechat, log: env.log },
  });
  const row = await env.t.db.followerEvent.findFirstOrThrow({
    where: { openid, createTime: new Date(ms(at)) },
    select: { id: true },
  });
  return Number(row.id);
}

/** A brand-new follower through a parametric QR code at `at` (state first, then the push). */
async function qrFollow(name: string, at: string, scene: string | number, tagIds: number[]) {
  setClock(at);
  const [openid] = env.fake.state.addFollowers(1);
  who[name] = openid as string;
  env.fake.state.editProfile(openid as string, {
    subscribe_scene: 'ADD_SCENE_QR_CODE',
    qr_scene: typeof scene === 'number' ? scene : 0,
    qr_scene_str: typeof scene === 'string' ? scene : '',
    remark: '',
    tagid_list: tagIds,
  });
  events[`${name} subscribe`] = await push(openid as string, at, {
    Event: 'subscribe',
    EventKey: `qrscene_${scene}`,
    Ticket: 'gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL2tUM1',
  });
}

const historyCount = async () =>
  Number((await env.t.db.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM follower_history`)[0]?.n);
const on = async (day: string) =>
  Number(
    (await env.t.db.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM followers_on(${day}::date)`)[0]?.n,
  );

/** At `at`, `name` leaves (or comes back) on the platform and WeChat pushes the event. */
async function followChange(name: string, at: string, event: 'subscribe' | 'unsubscribe') {
  setClock(at);
  if (event === 'unsubscribe') env.fake.state.unsubscribe(who[name] as string);
  else env.fake.state.resubscribe(who[name] as string);
  events[`${name} ${event}`] = await push(who[name] as string, at, { Event: event, EventKey: '' });
}

/**
 * A follower sync at `at`, recorded as run `label`: its counts match `counts`, and follower_history
 * then holds `history` rows.
 */
async function followerSync(label: string, at: string, counts: Record<string, number>, history: number) {
  const result = await sync('followers', at);
  runs[label] = result.runId;
  expect(result.counts).toMatchObject(counts);
  expect(await historyCount()).toBe(history);
}

describe('scripted account history', () => {
  it('first sync: one opening period per follower; a re-sync that finds nothing new writes none', async () => {
    runs.R1 = (await sync('followers', '2026-01-05T02:00:00Z')).runId;
    expect(await historyCount()).toBe(6);
    const again = { inserted: 0, changed: 0, unchanged: 6, markedUnsubscribed: 0 };
    await followerSync('R2', '2026-01-05T03:00:00Z', again, 6);
  });

  it('event burst on 5 January: two QR follows, an unfollow, a SCAN', async () => {
    await qrFollow('N1', '2026-01-05T12:00:00Z', 'spring', [100]);
    await qrFollow('N2', '2026-01-05T12:05:00Z', 777, []);
    await followChange('F1', '2026-01-05T12:10:00Z', 'unsubscribe');
    events['F2 scan'] = await push(who.F2 as string, '2026-01-05T12:15:00Z', {
      Event: 'SCAN',
      EventKey: 'spring',
      Ticket: 'gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL2tUM1',
    });
    expect(await historyCount()).toBe(9);
  });

  it('operator edits, a renamed tag, a silent unfollow: the tags job and a sync on 8 January', async () => {
    setClock('2026-01-07T09:00:00Z');
    env.fake.state.editProfile(who.F3 as string, { remark: 'VIP客户' });
    env.fake.state.editProfile(who.F4 as string, { tagid_list: [2, 105] });
    env.fake.state.renameTag(104, '黄金会员');
    env.fake.state.unsubscribe(who.F5 as string);
    const tagsRun = await sync('tags', '2026-01-08T01:00:00Z');
    runs.R3 = tagsRun.runId;
    // R1 and R2 (follower syncs) stored the tags already: only the rename is new.
    expect(tagsRun.counts).toEqual({ listed: 10, added: 0, renamed: 1, restored: 0, removed: 0 });
    // Listed: F2, F3, F4, F6, N1, N2 (F1 and F5 are gone); F3 and F4 changed, F5 is flagged.
    const r4 = { inserted: 0, changed: 2, unchanged: 4, markedUnsubscribed: 1, tags: 10 };
    await followerSync('R4', '2026-01-08T02:00:00Z', r4, 12);
    const renamed = await env.t.db.tag.findUniqueOrThrow({ where: { id: 104 } });
    expect(renamed).toMatchObject({ name: '黄金会员', lastRunId: BigInt(runs.R4 ?? 0) });
  });

  it('event burst on 12 January: a comeback and an early leaver', async () => {
    await followChange('F1', '2026-01-12T03:00:00Z', 'subscribe');
    await followChange('N1', '2026-01-12T04:00:00Z', 'unsubscribe');
    expect(await historyCount()).toBe(14);
  });

  it('20 February: a silent comeback, a silent leaver, a deleted tag; then datacube', async () => {
    setClock('2026-02-10T08:00:00Z');
    env.fake.state.unsubscribe(who.N2 as string);
    setClock('2026-02-19T02:00:00Z');
    env.fake.state.resubscribe(who.F5 as string);
    env.fake.state.deleteTag(105);
    const r5 = { inserted: 0, changed: 2, unchanged: 4, markedUnsubscribed: 1, tags: 9 };
    await followerSync('R5', '2026-02-20T02:00:00Z', r5, 17);
    runs.R6 = (
      await sync('datacube', '2026-02-20T02:30:00Z', { from: '2026-01-05', to: '2026-01-12' })
    ).runId;
  });

  it('follower_history: every period, back to back, with the writer that opened and closed it', async () => {
    const rows = await env.t.db.$queryRaw<
      {
        openid: string;
        valid_from: Date;
        valid_to: Date | null;
        subscribe: boolean;
        remark: string;
        tagid_list: number[];
        opened_by: string;
        opened_by_run_id: bigint | null;
        opened_by_event_id: bigint | null;
        closed_by: string | null;
        closed_by_run_id: bigint | null;
        closed_by_event_id: bigint | null;
      }[]
    >`SELECT openid, valid_from, valid_to, subscribe, remark, tagid_list, opened_by, opened_by_run_id,
             opened_by_event_id, closed_by, closed_by_run_id, closed_by_event_id
      FROM follower_history ORDER BY valid_from, id`;
    const writer = (kind: string | null, runId: bigint | null, eventId: bigint | null) => {
      if (kind === 'sync') return Object.entries(runs).find(([, id]) => BigInt(id) === runId)?.[0];
      if (kind === 'event') return Object.entries(events).find(([, id]) => BigInt(id) === eventId)?.[0];
      return kind;
    };
    const iso = (d: Date | null) => d?.toISOString().slice(0, 16) ?? null;
    const got = rows
      .map((r) => [
        label(r.openid),
        iso(r.valid_from),
        iso(r.valid_to),
        r.subscribe,
        r.remark,
        r.tagid_list.join(','),
        writer(r.opened_by, r.opened_by_run_id, r.opened_by_event_id),
        writer(r.closed_by, r.closed_by_run_id, r.closed_by_event_id) ?? null,
      ])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])) || String(a[1]).localeCompare(String(b[1])))
      // One line per period: follower | valid_from..valid_to | state | remark | tags | opened by..closed by.
      .map(([who, from, to, subscribe, remark, tags, opened, closed]) =>
        [
          who,
          `${from}..${to ?? ''}`,
          subscribe ? 'subscribed' : 'unsubscribed',
          `remark=${remark}`,
          `tags=${tags}`,
          `${opened}..${closed ?? ''}`,
        ].join(' | '),
      );
    expect(got).toEqual([
      'F1 | 2026-01-05T02:00..2026-01-05T12:10 | subscribed | remark= | tags=2 | R1..F1 unsubscribe',
      'F1 | 2026-01-05T12:10..2026-01-12T03:00 | unsubscribed | remark= | tags=2 | F1 unsubscribe..F1 subscribe',
      'F1 | 2026-01-12T03:00.. | subscribed | remark= | tags=2 | F1 subscribe..',
      'F2 | 2026-01-05T02:00.. | subscribed | remark= | tags=2,100 | R1..',
      'F3 | 2026-01-05T02:00..2026-01-08T02:00 | subscribed | remark= | tags= | R1..R4',
      'F3 | 2026-01-08T02:00.. | subscribed | remark=VIP客户 | tags= | R4..',
      'F4 | 2026-01-05T02:00..2026-01-08T02:00 | subscribed | remark= | tags= | R1..R4',
      'F4 | 2026-01-08T02:00..2026-02-20T02:00 | subscribed | remark= | tags=2,105 | R4..R5',
      'F4 | 2026-02-20T02:00.. | subscribed | remark= | tags=2 | R5..',
      'F5 | 2026-01-05T02:00..2026-01-08T02:00 | subscribed | remark= | tags=101 | R1..R4',
      'F5 | 2026-01-08T02:00..2026-02-20T02:00 | unsubscribed | remark= | tags=101 | R4..R5',
      'F5 | 2026-02-20T02:00.. | subscribed | remark= | tags=101 | R5..',
      'F6 | 2026-01-05T02:00.. | subscribed | remark= | tags= | R1..',
      'N1 | 2026-01-05T12:00..2026-01-12T04:00 | subscribed | remark= | tags=100 | N1 subscribe..N1 unsubscribe',
      'N1 | 2026-01-12T04:00.. | unsubscribed | remark= | tags=100 | N1 unsubscribe..',
      'N2 | 2026-01-05T12:05..2026-02-20T02:00 | subscribed | remark= | tags= | N2 subscribe..R5',
      'N2 | 2026-02-20T02:00.. | unsubscribed | remark= | tags= | R5..',
    ]);
  });

  it('followers_on counts the followers at the end of chosen Beijing days', async () => {
    expect(await on('2026-01-04')).toBe(0); // before the first sync
    expect(await on('2026-01-05')).toBe(7); // F2..F6, N1, N2 (F1 left at 20:10 Beijing)
    expect(await on('2026-01-07')).toBe(7);
    expect(await on('2026-01-08')).toBe(6); // F5 flagged by the sync at 10:00 Beijing
    expect(await on('2026-01-12')).toBe(6); // F1 back, N1 gone
    expect(await on('2026-02-19')).toBe(6);
    expect(await on('2026-02-20')).toBe(6); // F5 back, N2 flagged
    const vip = await env.t.db.$queryRaw<{ openid: string; tagid_list: number[] }[]>`
      SELECT openid, tagid_list FROM followers_on('2026-01-10') WHERE 105 = ANY(tagid_list)`;
    expect(vip).toEqual([{ openid: who.F4, tagid_list: [2, 105] }]);
  });

  it('tags and tag_distribution agree with WeChat; the deleted tag is removed, its history kept', async () => {
    const removed = await env.t.db.tag.findUniqueOrThrow({ where: { id: 105 } });
    expect(removed.removedAt).toEqual(new Date('2026-02-20T02:00:00Z'));
    expect(removed.name).toBe('VIP🌟');
    const dist = await env.t.db.$queryRaw<
      { tag_id: number; tag_name: string; followers: number; wechat_count: number | null }[]
    >`SELECT tag_id, tag_name, followers, wechat_count FROM tag_distribution ORDER BY tag_id`;
    const wechat = new Map(env.fake.state.tagList().map((t) => [t.id, t.count]));
    expect(dist).toEqual([
      { tag_id: 2, tag_name: '星标组', followers: 3, wechat_count: 3 },
      { tag_id: 100, tag_name: '高价值客户', followers: 1, wechat_count: 1 },
      { tag_id: 101, tag_name: '广东', followers: 1, wechat_count: 1 },
      { tag_id: 102, tag_name: '活动-双十一', followers: 0, wechat_count: 0 },
      { tag_id: 103, tag_name: '新品试用', followers: 0, wechat_count: 0 },
      { tag_id: 104, tag_name: '黄金会员', followers: 0, wechat_count: 0 },
      { tag_id: 106, tag_name: '待回访', followers: 0, wechat_count: 0 },
      { tag_id: 107, tag_name: '北京', followers: 0, wechat_count: 0 },
      { tag_id: 108, tag_name: '已购课程', followers: 0, wechat_count: 0 },
    ]);
    for (const row of dist) expect(wechat.get(row.tag_id)).toBe(row.wechat_count);
    const pairs = await env.t.db.$queryRaw<{ openid: string; tag_name: string; subscribe: boolean }[]>`
      SELECT openid, tag_name, subscribe FROM follower_tags ORDER BY openid, tag_id`;
    expect(pairs.map((p) => [label(p.openid), p.tag_name, p.subscribe]).sort()).toEqual(
      [
        ['F1', '星标组', true],
        ['F2', '星标组', true],
        ['F2', '高价值客户', true],
        ['F4', '星标组', true],
        ['F5', '广东', true],
        ['N1', '高价值客户', false],
      ].sort(),
    );
  });

  it('qr_scene_performance: gained, stayed, left within 7/30 days, scans', async () => {
    const rows = await env.t.db.$queryRaw<Record<string, unknown>[]>`
      SELECT scene, followers_gained, still_following, left_within_7_days, left_within_30_days,
             scan_events, scanning_followers, first_joined_at
      FROM qr_scene_performance ORDER BY scene`;
    expect(rows).toEqual([
      {
        scene: '777',
        followers_gained: 1,
        still_following: 0,
        left_within_7_days: 0,
        left_within_30_days: 0,
        scan_events: 0,
        scanning_followers: 0,
        first_joined_at: new Date('2026-01-05T12:05:00Z'),
      },
      {
        scene: 'spring',
        followers_gained: 1,
        still_following: 0,
        left_within_7_days: 1,
        left_within_30_days: 1,
        scan_events: 1,
        scanning_followers: 1,
        first_joined_at: new Date('2026-01-05T12:00:00Z'),
      },
    ]);
  });

  it('cohort_retention: per Beijing month, now and at 30/90/180 days where the history covers it', async () => {
    const rows = await env.t.db.$queryRaw<Record<string, unknown>[]>`
      SELECT to_char(cohort_month, 'YYYY-MM') AS month, joined, still_following, retention::text,
             covered_30d, retained_30d, retention_30d::text, covered_90d, retained_90d, retention_90d::text,
             covered_180d, retained_180d, retention_180d::text
      FROM cohort_retention ORDER BY cohort_month`;
    expect(rows).toEqual([
      // F1..F6 joined in December 2025; the history starts 5 January, so only F6's 30th day
      // (5 January, 12:00 Beijing) is covered. F1 and F5 are back by the 90th day.
      {
        month: '2025-12',
        joined: 6,
        still_following: 6,
        retention: '1.0000',
        covered_30d: 1,
        retained_30d: 1,
        retention_30d: '1.0000',
        covered_90d: 6,
        retained_90d: 6,
        retention_90d: '1.0000',
        covered_180d: 6,
        retained_180d: 6,
        retention_180d: '1.0000',
      },
      // N1, N2 and F1's comeback: N1 left on the 12th, N2 by 20 February.
      {
        month: '2026-01',
        joined: 3,
        still_following: 1,
        retention: '0.3333',
        covered_30d: 3,
        retained_30d: 2,
        retention_30d: '0.6667',
        covered_90d: 3,
        retained_90d: 1,
        retention_90d: '0.3333',
        covered_180d: 3,
        retained_180d: 1,
        retention_180d: '0.3333',
      },
      // F5's comeback on 19 February.
      {
        month: '2026-02',
        joined: 1,
        still_following: 1,
        retention: '1.0000',
        covered_30d: 1,
        retained_30d: 1,
        retention_30d: '1.0000',
        covered_90d: 1,
        retained_90d: 1,
        retention_90d: '1.0000',
        covered_180d: 1,
        retained_180d: 1,
        retention_180d: '1.0000',
      },
    ]);
  });

  it('returning_followers: who left and came back, with dates', async () => {
    const rows = await env.t.db.$queryRaw<
      {
        openid: string;
        previous_subscribe_time: Date;
        left_at: Date;
        returned_at: Date;
        away: string;
        comeback_number: number;
        following_now: boolean;
      }[]
    >`SELECT openid, previous_subscribe_time, left_at, returned_at, away::text, comeback_number, following_now
      FROM returning_followers ORDER BY returned_at`;
    expect(rows.map((r) => ({ ...r, openid: label(r.openid) }))).toEqual([
      {
        openid: 'F1',
        previous_subscribe_time: new Date('2025-12-01T04:00:00Z'),
        left_at: new Date('2026-01-05T12:10:00Z'),
        returned_at: new Date('2026-01-12T03:00:00Z'),
        away: '6 days 14:50:00',
        comeback_number: 1,
        following_now: true,
      },
      {
        openid: 'F5',
        previous_subscribe_time: new Date('2025-12-05T04:00:00Z'),
        left_at: new Date('2026-01-08T02:00:00Z'),
        returned_at: new Date('2026-02-19T02:00:00Z'),
        away: '42 days',
        comeback_number: 1,
        following_now: true,
      },
    ]);
  });

  it('hourly_follow_events: subscribes and unsubscribes per Beijing hour', async () => {
    const rows = await env.t.db.$queryRaw<Record<string, unknown>[]>`
      SELECT to_char(hour, 'YYYY-MM-DD HH24:MI') AS hour, subscribes, qr_subscribes, unsubscribes, net
      FROM hourly_follow_events ORDER BY hour`;
    expect(rows).toEqual([
      { hour: '2026-01-05 20:00', subscribes: 2, qr_subscribes: 2, unsubscribes: 1, net: 1 },
      { hour: '2026-01-12 11:00', subscribes: 1, qr_subscribes: 0, unsubscribes: 0, net: 1 },
      { hour: '2026-01-12 12:00', subscribes: 0, qr_subscribes: 0, unsubscribes: 1, net: -1 },
    ]);
  });

  it('daily_events_vs_datacube: what /wx saw beside what datacube reports', async () => {
    const rows = await env.t.db.$queryRaw<
      {
        day: string;
        subscribe_events: number;
        unsubscribe_events: number;
        new_user: number | null;
        cancel_user: number | null;
        new_user_gap: number | null;
        cancel_user_gap: number | null;
      }[]
    >`SELECT to_char(day, 'YYYY-MM-DD') AS day, subscribe_events, unsubscribe_events, new_user, cancel_user,
             new_user_gap, cancel_user_gap
      FROM daily_events_vs_datacube ORDER BY day`;
    const stats = env.fake.state.stats.summary;
    const dayNumber = (iso: string) => Date.parse(`${iso}T00:00:00Z`) / 86_400_000;
    const sum = (iso: string, key: 'new_user' | 'cancel_user') =>
      (stats.get(dayNumber(iso)) ?? []).reduce((n, r) => n + r[key], 0);
    const pushes: Record<string, [number, number]> = { '2026-01-05': [2, 1], '2026-01-12': [1, 1] };
    const expected = [5, 6, 7, 8, 9, 10, 11, 12].map((d) => {
      const day = `2026-01-${String(d).padStart(2, '0')}`;
      const [subs, unsubs] = pushes[day] ?? [0, 0];
      return {
        day,
        subscribe_events: subs,
        unsubscribe_events: unsubs,
        new_user: sum(day, 'new_user'),
        cancel_user: sum(day, 'cancel_user'),
        new_user_gap: sum(day, 'new_user') - subs,
        cancel_user_gap: sum(day, 'cancel_user') - unsubs,
      };
    });
    expect(rows).toEqual(expected);
    expect(rows.reduce((n, r) => n + (r.new_user ?? 0), 0)).toBeGreaterThan(0);
  });

  it('lineage: every mirrored row names the sync run that last wrote it', async () => {
    const followers = await env.t.db.follower.findMany({
      select: { openid: true, lastRunId: true, lastEventId: true },
    });
    const byLabel = Object.fromEntries(followers.map((f) => [label(f.openid), f]));
    // R5 listed every current follower; N1 and N2 left before it (N2 was flagged by it).
    for (const f of ['F1', 'F2', 'F3', 'F4', 'F5', 'F6', 'N2'])
      expect(byLabel[f]?.lastRunId).toBe(BigInt(runs.R5 ?? 0));
    expect(byLabel.N1?.lastRunId).toBe(BigInt(runs.R4 ?? 0));
    expect(byLabel.N1?.lastEventId).toBe(BigInt(events['N1 unsubscribe'] ?? 0));
    expect(byLabel.F2?.lastEventId).toBeNull(); // a SCAN writes no follower
    const datacube = await env.t.db.userSummary.groupBy({ by: ['lastRunId'], _count: true });
    expect(datacube).toEqual([{ lastRunId: BigInt(runs.R6 ?? 0), _count: expect.any(Number) }]);
    const tags = await env.t.db.tag.groupBy({
      by: ['lastRunId'],
      _count: true,
      orderBy: { lastRunId: 'asc' },
    });
    expect(tags).toEqual([{ lastRunId: BigInt(runs.R5 ?? 0), _count: 10 }]);
  });
});
