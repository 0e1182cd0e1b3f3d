/**
 * The dashboard's panel routes in-process (app.request) on the seeded warehouse: exact figures in
 * the JSON, CSV = JSON cell for cell, range and parameter validation (never an unbounded range),
 * another CRON_TIMEZONE moving every time, the language choice remembered by cookie; and the pure
 * helpers (CSV cells, zone arithmetic) as unit tests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays, beijingYesterday } from '../../src/calendar.ts';
import { cumulateVsStored, cumulateVsStoredView } from '../../src/db/stats.ts';
import { errcodeIn } from '../../src/ops/dashboard.ts';
import { csvCell, toCsv } from '../../src/server/admin/csv.ts';
import { parseLang } from '../../src/server/admin/i18n.ts';
import { utcOffsetLabel, zonedDay, zonedIso, zonedStartOfDay } from '../../src/time-zone.ts';
import { makeSeed, type Seed, seedWarehouse } from '../support/dashboard-seed.ts';
import { bearer, type OpsTestEnv, opsTestEnv } from '../support/ops-env.ts';

let h: OpsTestEnv;
let ny: OpsTestEnv;
let seed: Seed;

beforeAll(async () => {
  seed = makeSeed();
  [h, ny] = await Promise.all([opsTestEnv(), opsTestEnv({ env: { CRON_TIMEZONE: 'America/New_York' } })]);
  await Promise.all([seedWarehouse(h.deps.db, seed), seedWarehouse(ny.deps.db, seed)]);
});
afterAll(async () => {
  await h?.close();
  await ny?.close();
});

/** The body as bytes, decoded without dropping a BOM (Response.text() would drop it). */
const get = async (path: string, env = h) => {
  const res = await env.app.request(path, { headers: bearer() });
  const bytes = new Uint8Array(await res.arrayBuffer());
  return {
    status: res.status,
    headers: res.headers,
    bytes,
    body: new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes),
  };
};
const json = async <T = Record<string, unknown>>(path: string, env = h) => {
  const res = await get(path, env);
  expect(res.status, `${path}: ${res.body}`).toBe(200);
  return JSON.parse(res.body) as T;
};

describe('panel routes', () => {
  it('growth: per source and per day, new/cancelled/net for the range', async () => {
    const from = seed.days[0]!;
    const to = seed.days.at(-1)!;
    const p = await json<{
      range: { from: string; to: string; days: number };
      days: string[];
      sources: { user_source: number; label_zh: string; new: number[]; cancelled: number[] }[];
      net: number[];
      rows: unknown[];
      daily: { day: string; new_user: number; subscribe_events: number }[];
    }>(`/admin/api/growth?from=${from}&to=${to}`);
    expect(p.range).toEqual({ from, to, days: 5 });
    expect(p.sources.map((s) => [s.user_source, s.label_zh, s.new, s.cancelled])).toEqual(
      seed.sources.map(([code, zh, , news, cancels]) => [code, zh, news, cancels]),
    );
    expect(p.net[0]).toBe(1215 - 8);
    expect(p.rows).toHaveLength(15);
    expect(p.daily.map((d) => d.new_user)).toEqual([1215, 43, 46, 40, 42]);
  });

  it('the default range is 30 days ending at the latest day WeChat reported; presets give 7/90', async () => {
    const p = await json<{ range: { from: string; to: string; days: number } }>('/admin/api/growth');
    expect(p.range).toEqual({ from: addDays(seed.days.at(-1)!, -29), to: seed.days.at(-1), days: 30 });
    const week = await json<{ range: { days: number } }>('/admin/api/cumulative?days=7');
    expect(week.range.days).toBe(7);
    const quarter = await json<{ days: string[] }>('/admin/api/cumulative?days=90');
    expect(quarter.days).toHaveLength(90);
    expect(quarter.days.at(-1)).toBe(beijingYesterday(seed.now));
  });

  it('refuses bad ranges and parameters with 400, never walks an unbounded range', async () => {
    const cases: [string, RegExp][] = [
      ['/admin/api/growth?from=2024-1-1', /from: expected YYYY-MM-DD/],
      ['/admin/api/growth?from=2024-02-30', /not a calendar date/],
      ['/admin/api/growth?from=2024-03-02&to=2024-03-01', /from must not be after to/],
      ['/admin/api/cumulative?from=2022-01-01&to=2024-01-01', /at most 366 days/],
      // Only `from`, far back: the range it implies (to the latest day) is refused, not walked.
      ['/admin/api/growth?from=2000-01-01', /at most 366 days/],
      ['/admin/api/growth?days=0', /days/],
      ['/admin/api/growth?days=100000', /days/],
      ['/admin/api/growth?days=7.5', /days/],
      ['/admin/api/channels?limit=0', /limit/],
      ['/admin/api/channels?limit=100000', /limit/],
      ['/admin/api/cohorts?months=-1', /months/],
      ['/admin/api/pipes.csv?table=nope', /table: one of runs, queues, quota/],
      ['/admin/api/pipes?format=xml', /format/],
    ];
    for (const [path, message] of cases) {
      const res = await get(path);
      expect(res.status, path).toBe(400);
      expect(JSON.parse(res.body).message, path).toMatch(message);
    }
  });

  it('CSV: BOM, CRLF, header = columns, cells = JSON rows', async () => {
    const res = await get(`/admin/api/growth.csv?from=${seed.days[0]}&to=${seed.days.at(-1)}`);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect([...res.bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(
      res.body.startsWith('\uFEFFday,user_source,source_zh,source_en,new_user,cancel_user,net_growth\r\n'),
    ).toBe(true);
    expect(res.body).toContain(`\r\n${seed.days[0]},30,扫描二维码,QR code scan,1200,5,1195\r\n`);
    const same = await get(`/admin/api/growth?format=csv&from=${seed.days[0]}&to=${seed.days.at(-1)}`);
    expect(same.body).toBe(res.body);
  });

  it('cumulative: the one-pass count equals the follower_count_vs_cumulate view, day by day', async () => {
    // Some leavers inside the range too, and a follower who left and came back (subscribe_time moved).
    const day = seed.days[2]!;
    const inRange = new Date(`${day}T04:00:00Z`);
    await h.deps.db.follower.create({
      data: {
        openid: 'oCumulativeLeaver',
        subscribe: false,
        subscribeTime: new Date(`${seed.days[0]}T01:00:00Z`),
        unsubscribedAt: inRange,
      },
    });
    await h.deps.db.follower.create({
      data: {
        openid: 'oCumulativeBack',
        subscribe: true,
        subscribeTime: inRange,
        unsubscribedAt: new Date(`${seed.days[0]}T02:00:00Z`),
      },
    });
    await h.deps.db.follower.create({ data: { openid: 'oCumulativeNoTime', subscribe: true } });
    const from = addDays(seed.days[0]!, -3);
    const to = seed.days.at(-1)!;
    const fast = await cumulateVsStored(h.deps.db, from, to);
    expect(fast).toEqual(await cumulateVsStoredView(h.deps.db, from, to));
    // The leaver counts on the two days before it left; a stale unsubscribed_at keeps the returner out (as the view does).
    expect(fast.map((r) => r.stored_followers)).toEqual([1_240, 1_240, 1_239, 1_239, 1_239]);
    await h.deps.db.follower.deleteMany({ where: { openid: { startsWith: 'oCumulative' } } });
  });

  it('pipes: states, durations, rows, errcodes with both explanations', async () => {
    const p = await json<{
      rows: Record<string, unknown>[];
      queues: unknown[];
      quota: { available: boolean };
    }>('/admin/api/pipes');
    const ip = p.rows.find((r) => r.errcode === 40164)!;
    expect(ip).toMatchObject({
      job: 'followers',
      status: 'failed',
      started_at: '2026-03-08T02:00:00+08:00',
      finished_at: '2026-03-08T02:00:01+08:00',
      duration_s: 1,
      explanation_zh: '调用方 IP 不在公众号的 IP 白名单中（公众平台：设置与开发 > 基本配置 > IP白名单）',
    });
    expect(p.rows.find((r) => r.run_id === 1)).toMatchObject({
      rows: 1239,
      duration_s: 125,
      status: 'succeeded',
    });
    expect(p.rows.map((r) => r.job)).toEqual([
      'blacklist',
      'datacube',
      'followers',
      'followers',
      'publisher',
    ]);
    expect(p.queues).toHaveLength(2);
    expect(p.quota.available).toBe(true);
    expect((p.quota as unknown as { rows: Record<string, unknown>[] }).rows).toContainEqual({
      path: '/cgi-bin/user/get',
      daily_limit: 500,
      used: 0,
      remain: 500,
      error: null,
    });
  });

  it('pipes: a retrying or paused run says when its next attempt is due', async () => {
    const run = await h.deps.db.syncRun.create({
      data: {
        job: 'blacklist',
        status: 'paused',
        startedAt: new Date('2026-03-08T10:00:00Z'),
        nextAttemptAt: new Date('2026-03-08T16:05:00Z'),
        error: 'WeChat /cgi-bin/tags/members/getblacklist failed: errcode 45009',
      },
    });
    try {
      const p = await json<{ rows: Record<string, unknown>[] }>('/admin/api/pipes');
      expect(p.rows.find((r) => r.run_id === Number(run.id))).toMatchObject({
        status: 'paused',
        next_attempt_at: '2026-03-09T00:05:00+08:00',
        errcode: 45009,
      });
      expect(p.rows.filter((r) => r.run_id !== Number(run.id)).every((r) => r.next_attempt_at === null)).toBe(
        true,
      );
    } finally {
      await h.deps.db.syncRun.delete({ where: { id: run.id } });
    }
  });

  it('every time follows CRON_TIMEZONE (America/New_York: the offset of that date)', async () => {
    const p = await json<{ rows: Record<string, unknown>[]; timezone: string }>('/admin/api/pipes', ny);
    expect(p.timezone).toBe('America/New_York');
    // 2026-03-06T18:00:00Z is 13:00 EST (daylight saving starts 2026-03-08).
    expect(p.rows.find((r) => r.run_id === 1)!.started_at).toBe('2026-03-06T13:00:00-05:00');
    // 2026-03-08T18:00:00Z... run 2 started 2026-03-07T18:00:00Z = 13:00 EST still.
    expect(p.rows.find((r) => r.run_id === 2)!.started_at).toBe('2026-03-07T13:00:00-05:00');
    const page = await get('/admin/', ny);
    expect(page.body).toContain('时间均为 America/New_York 时间（UTC-05:00）');
  });

  it('hourly: today in CRON_TIMEZONE, 24 hours, the events of the seed', async () => {
    const p = await json<{
      day: string;
      hours: string[];
      totals: { subscribes: number; unsubscribes: number };
    }>('/admin/api/hourly');
    expect(p.day).toBe(zonedDay(seed.now, 'Asia/Shanghai'));
    expect(p.hours).toHaveLength(24);
    expect(p.hours[0]).toBe(`${p.day}T00:00:00+08:00`);
    const today = (d: Date) => zonedDay(d, 'Asia/Shanghai') === p.day;
    expect(p.totals).toMatchObject({
      subscribes: seed.subscribes.filter(today).length,
      unsubscribes: seed.unsubscribes.filter(today).length,
    });
  });

  it('language: ?lang= sets a remembered cookie; the page and the login form follow it', async () => {
    const en = await h.app.request('/admin/?lang=en', { headers: bearer() });
    expect(await en.text()).toContain('<html lang="en">');
    const cookie = en.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^wxsync_lang=en;/);
    expect(cookie).toMatch(/Path=\/admin/);
    const again = await h.app.request('/admin/', { headers: { ...bearer(), Cookie: 'wxsync_lang=en' } });
    expect(await again.text()).toContain('<html lang="en">');
    const plain = await h.app.request('/admin/', { headers: bearer() });
    const zh = await plain.text();
    expect(zh).toContain('<html lang="zh-CN">');
    expect(zh).toContain('wxsync 运营看板');
    const login = await h.app.request('/admin/login', { headers: { Cookie: 'wxsync_lang=en' } });
    expect(await login.text()).toContain('Admin token');
    const loginZh = await h.app.request('/admin/login');
    expect(await loginZh.text()).toContain('管理令牌');
  });
});

describe('pure helpers', () => {
  it('CSV cells: quoting, formula guard, numbers as numbers', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell(' padded')).toBe('" padded"');
    for (const evil of ['=1+1', '+1', '-1', '@SUM(A1)', '\t=1', '\r=1']) {
      expect(csvCell(evil).replace(/^"/, '').startsWith("'"), evil).toBe(true);
    }
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell(-12)).toBe('-12');
    expect(csvCell(0.125)).toBe('0.125');
    expect(csvCell(null)).toBe('');
    expect(csvCell(true)).toBe('true');
    expect(toCsv(['a', 'b'], [{ a: '星标组', b: 1 }])).toBe('\uFEFFa,b\r\n星标组,1\r\n');
  });

  it('zone arithmetic: ISO with offset, start of day, DST', () => {
    const at = new Date('2026-03-06T18:00:05Z');
    expect(zonedIso(at, 'Asia/Shanghai')).toBe('2026-03-07T02:00:05+08:00');
    expect(zonedIso(at, 'UTC')).toBe('2026-03-06T18:00:05+00:00');
    expect(zonedIso(at, 'Asia/Kolkata')).toBe('2026-03-06T23:30:05+05:30');
    expect(zonedDay(at, 'Asia/Shanghai')).toBe('2026-03-07');
    expect(zonedStartOfDay('2026-03-07', 'Asia/Shanghai').toISOString()).toBe('2026-03-06T16:00:00.000Z');
    // New York's DST day has 23 hours; its midnight is still EST.
    expect(zonedStartOfDay('2026-03-08', 'America/New_York').toISOString()).toBe('2026-03-08T05:00:00.000Z');
    expect(zonedStartOfDay('2026-03-09', 'America/New_York').toISOString()).toBe('2026-03-09T04:00:00.000Z');
    expect(utcOffsetLabel('Asia/Shanghai')).toBe('UTC+08:00');
  });

  it('errcodes and languages are read leniently', () => {
    expect(errcodeIn('WeChat /x failed: errcode 45009 (reach max api daily quota limit)')).toBe(45009);
    expect(errcodeIn('errcode -1 (system busy)')).toBe(-1);
    expect(errcodeIn('ECONNRESET')).toBeNull();
    expect(errcodeIn(null)).toBeNull();
    expect(parseLang('en-US')).toBe('en');
    expect(parseLang('zh_CN')).toBe('zh-CN');
    expect(parseLang('fr')).toBeUndefined();
  });
});
