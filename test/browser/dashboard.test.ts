/**
 * The operator dashboard in a real browser: Debian's Chromium driven by playwright-core, against the
 * real app on a seeded warehouse (test/support/dashboard-seed.ts) and on an empty database. Logs in through
 * the form like an operator; asserts the seeded figures in the DOM (and in the charts), Chinese by
 * default with 1,234 / 12.3% formats, Beijing times, the English switch and that it is remembered,
 * CSV downloads equal to the JSON routes, every empty state, zero console errors and zero failed
 * requests. Screenshots (zh and en, 1280 px and phone width) go to test-results/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  beijing,
  dailyTotals,
  expectedCohorts,
  followersLeft,
  followersNow,
  makeSeed,
  type Seed,
  seedWarehouse,
} from '../support/dashboard-seed.ts';
import { ADMIN_TOKEN, type OpsTestEnv, opsTestEnv } from '../support/ops-env.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PANELS = ['headline', 'growth', 'cumulative', 'hourly', 'channels', 'cohorts', 'tags', 'pipes'];
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };

interface Served {
  h: OpsTestEnv;
  url: string;
  close(): Promise<void>;
}

async function served(h: OpsTestEnv): Promise<Served> {
  return new Promise((resolve) => {
    const server = serve({ fetch: h.app.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => {
      resolve({
        h,
        url: `http://127.0.0.1:${info.port}`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}

let seeded: Served;
let empty: Served;
let seed: Seed;
let browser: Browser;

beforeAll(async () => {
  seed = makeSeed();
  const [a, b] = await Promise.all([opsTestEnv(), opsTestEnv()]);
  await seedWarehouse(a.deps.db, seed);
  await a.queues.find((q) => q.name === 'sync')!.add('datacube', { trigger: 'test' });
  [seeded, empty] = await Promise.all([served(a), served(b)]);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  for (const s of [seeded, empty]) {
    await s?.close();
    await s?.h.close();
  }
});

/** A page that records console errors, failed requests and HTTP errors (the login 401 aside). */
interface Watched {
  context: BrowserContext;
  page: Page;
  problems: string[];
}

async function loggedIn(
  target: Served,
  viewport = DESKTOP,
  path = '/admin/',
  options: { clock?: boolean } = {},
): Promise<Watched> {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  if (options.clock) await page.clock.install();
  const problems: string[] = [];
  let loggingIn = true;
  page.on('console', (m) => {
    if (m.type() === 'error' && !loggingIn) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => {
    if (r.status() >= 400 && !loggingIn) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  const first = await page.goto(`${target.url}/admin/login`);
  expect(first?.status()).toBe(200);
  await page.fill('input[name=token]', ADMIN_TOKEN);
  await Promise.all([page.waitForURL(`${target.url}/admin/`), page.click('button[type=submit]')]);
  loggingIn = false;
  await page.waitForSelector('body[data-loaded="true"]');
  if (path !== '/admin/') {
    await page.goto(`${target.url}${path}`);
    await page.waitForSelector('body[data-loaded="true"]');
  }
  return { context, page, problems };
}

/** The page again at phone width: nothing wider than the screen; a full-page screenshot `file`. */
async function atPhoneWidth(page: Page, file: string) {
  await page.setViewportSize(PHONE);
  await page.reload();
  await page.waitForSelector('body[data-loaded="true"]');
  expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(PHONE.width);
  await page.screenshot({ path: `test-results/${file}`, fullPage: true });
}

const text = async (page: Page, selector: string) => (await page.textContent(selector))?.trim();
const fmt = (n: number) => n.toLocaleString('en-US');
const signed = (n: number) => (n > 0 ? `+${fmt(n)}` : fmt(n));

/** Parses our CSV (BOM, CRLF, RFC 4180 quotes). */
function parseCsv(body: string): string[][] {
  expect(body.startsWith('\uFEFF')).toBe(true);
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  const s = body.slice(1);
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (quoted) {
      if (ch === '"' && s[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\r' && s[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += ch;
  }
  return rows;
}

/** A JSON cell as our CSV writes it (formula-looking text gets a leading apostrophe). */
const asCsv = (v: unknown) =>
  v === null || v === undefined ? '' : typeof v === 'string' && /^[=+\-@\t\r]/.test(v) ? `'${v}` : String(v);

describe('operator dashboard in Chromium (seeded warehouse)', () => {
  it('has a browser to drive', () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} missing: apt-get install chromium`).toBe(true);
  });

  it('is Chinese by default and shows every seeded figure, in Beijing time', async () => {
    const range = `?from=${seed.days[0]}&to=${seed.days.at(-1)}`;
    const { context, page, problems } = await loggedIn(seeded, DESKTOP, `/admin/${range}`);
    expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
    expect(await page.title()).toBe('wxsync 运营看板');
    expect(await text(page, '#tz-label')).toBe('时间均为北京时间（Asia/Shanghai，UTC+08:00）');
    for (const name of PANELS) {
      expect(await page.getAttribute(`#panel-${name}`, 'data-state'), name).toBe('ready');
    }

    // Headline: followers now, today from events, yesterday from datacube, last 7 days.
    const today = beijing(seed.now).slice(0, 10);
    const todayNew = seed.subscribes.filter((d) => beijing(d).startsWith(today)).length;
    const todayLeft = seed.unsubscribes.filter((d) => beijing(d).startsWith(today)).length;
    expect(followersNow(seed)).toBe(1_234);
    expect(await text(page, '#hl-followers-now')).toBe('1,234');
    expect(await text(page, '#card-followers .muted')).toBe(
      `已取消关注 ${followersLeft(seed)} 人（历史累计）`,
    );
    expect(await text(page, '#hl-today-new')).toBe(String(todayNew));
    expect(await text(page, '#hl-today-left')).toBe(String(todayLeft));
    expect(await text(page, '#hl-today-net')).toBe(signed(todayNew - todayLeft));
    const totals = dailyTotals(seed);
    const y = totals.at(-1)!;
    expect(await text(page, '#hl-yesterday-new')).toBe(fmt(y.new));
    expect(await text(page, '#hl-yesterday-cancelled')).toBe(fmt(y.cancelled));
    expect(await text(page, '#hl-yesterday-net')).toBe(signed(y.net));
    expect(await text(page, '#hl-yesterday-cumulate')).toBe('日末总人数 11,210');
    const week = totals.reduce((n, d) => n + d.net, 0);
    expect(await text(page, '#hl-last7-net')).toBe(signed(week));
    expect(await text(page, '#hl-last7-new')).toBe(fmt(totals.reduce((n, d) => n + d.new, 0)));
    // Freshness: the newest event arrived 3 s before the seed's now, shown in Beijing time.
    expect(await text(page, '#card-today .asof')).toBe(`数据更新于 ${beijing(seed.subscribes[0]!)} 北京时间`);

    // Daily growth: new above the axis, cancelled below, stacked by source, net as a line.
    const growth = (await page.evaluate(`(() => {
      const chart = window.Chart.getChart(document.getElementById('growth-chart'));
      return { labels: chart.data.labels, datasets: chart.data.datasets.map((d) => ({ label: d.label, data: d.data, stack: d.stack, type: d.type })) };
    })()`)) as {
      labels: string[];
      datasets: { label: string; data: number[]; stack: string; type: string }[];
    };
    expect(growth.labels).toEqual(seed.days);
    const expected = seed.sources.flatMap(([, zh, , news, cancels]) => [
      { label: `${zh} · 新增`, data: news, stack: 'flow', type: 'bar' },
      { label: `${zh} · 取消关注`, data: cancels.map((c) => -c), stack: 'flow', type: 'bar' },
    ]);
    expect(growth.datasets).toEqual([
      ...expected,
      { label: '净增', data: totals.map((d) => d.net), stack: 'net', type: 'line' },
    ]);
    for (const d of totals) {
      const row = `#growth-table tr[data-day="${d.day}"]`;
      expect(await text(page, `${row} td[data-col=new]`)).toBe(fmt(d.new));
      expect(await text(page, `${row} td[data-col=cancelled]`)).toBe(fmt(d.cancelled));
      expect(await text(page, `${row} td[data-col=net]`)).toBe(signed(d.net));
    }
    expect(await text(page, `#growth-table tr[data-day="${seed.days[0]}"] td[data-col=new]`)).toBe('1,215');

    // Cumulative: WeChat's count against the followers stored, with the gap (and its share).
    const lastDay = seed.days.at(-1)!;
    // Stored followers at the end of each range day: every seeded join before it, not left by then.
    const stored = seed.plainFollowing + seed.plainLeft + seed.qr.filter((f) => !f.left).length;
    expect(followersNow(seed) + followersLeft(seed) - seed.qr.filter((f) => f.left).length).toBe(stored);
    expect(await text(page, '#cumulative-latest')).toBe(
      `${lastDay}：微信统计 11,210，已存 ${fmt(stored)}，差额 +${fmt(11_210 - stored)}（${((100 * (11_210 - stored)) / 11_210).toFixed(1)}%）`,
    );
    for (const [i, day] of seed.days.entries()) {
      const row = `#cumulative-table tr[data-day="${day}"]`;
      expect(await text(page, `${row} td[data-col=cumulate_user]`)).toBe(fmt(seed.cumulate[i]!));
      expect(await text(page, `${row} td[data-col=stored_followers]`)).toBe(fmt(stored));
    }

    // Today by hour (Beijing hours), from hourly_follow_events.
    const byHour = new Map<string, { s: number; u: number }>();
    for (const [list, key] of [
      [seed.subscribes, 's'],
      [seed.unsubscribes, 'u'],
    ] as const) {
      for (const d of list.filter((x) => beijing(x).startsWith(today))) {
        const hour = `${beijing(d).slice(11, 13)}:00`;
        const counts = byHour.get(hour) ?? { s: 0, u: 0 };
        counts[key] += 1;
        byHour.set(hour, counts);
      }
    }
    for (const [hour, c] of byHour) {
      const row = `#hourly-table tr[data-hour="${hour}"]`;
      expect(await text(page, `${row} td[data-col=subscribes]`)).toBe(String(c.s));
      expect(await text(page, `${row} td[data-col=unsubscribes]`)).toBe(String(c.u));
      expect(await text(page, `${row} td[data-col=net]`)).toBe(signed(c.s - c.u));
    }
    expect(await text(page, '#hourly-totals')).toBe(
      `今日合计：关注 ${todayNew}，取消关注 ${todayLeft}，净增 ${signed(todayNew - todayLeft)}`,
    );
    const hourly = (await page.evaluate(
      `window.Chart.getChart(document.getElementById('hourly-chart')).data.labels`,
    )) as string[];
    expect(hourly).toEqual(Array.from({ length: 24 }, (_, i) => `${String(i).padStart(2, '0')}:00`));

    // Channels: the QR scenes, gained / still following / 7-day retention.
    const scene = (name: string) => `#channels-table tr[data-scene="${name}"]`;
    expect(await text(page, `${scene('campaign_spring')} td[data-col=followers_gained]`)).toBe('4');
    expect(await text(page, `${scene('campaign_spring')} td[data-col=still_following]`)).toBe('2');
    expect(await text(page, `${scene('campaign_spring')} td[data-col=left_within_7_days]`)).toBe('1');
    expect(await text(page, `${scene('campaign_spring')} td[data-col=retention_7d]`)).toBe('75.0%');
    expect(await text(page, `${scene('campaign_spring')} td[data-col=retention_now]`)).toBe('50.0%');
    expect(await text(page, `${scene('1001')} td[data-col=followers_gained]`)).toBe('2');
    expect(await text(page, `${scene('1001')} td[data-col=retention_7d]`)).toBe('100.0%');
    expect(await text(page, `${scene('9009')} td[data-col=followers_gained]`)).toBe('1');
    // Sortable: most gained first, then by 7-day retention ascending after two clicks.
    const scenes = () =>
      page.$$eval('#channels-table tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-scene')));
    expect(await scenes()).toEqual(['campaign_spring', '1001', '9009']);
    await page.click('#channels-table th[data-col=retention_7d] button');
    expect(await page.getAttribute('#channels-table th[data-col=retention_7d]', 'aria-sort')).toBe(
      'descending',
    );
    await page.click('#channels-table th[data-col=retention_7d] button');
    expect(await page.getAttribute('#channels-table th[data-col=retention_7d]', 'aria-sort')).toBe(
      'ascending',
    );
    expect(await scenes()).toEqual(['campaign_spring', '1001', '9009']);
    await page.click('#channels-table th[data-col=scene] button');
    expect(await scenes()).toEqual(['campaign_spring', '9009', '1001']);

    // Cohort heat map: month joined x 30/90/180 days and now, as the view computes it.
    const pctText = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)}%`);
    for (const c of expectedCohorts(seed)) {
      const row = `#cohorts-table tr[data-month="${c.cohort_month}"]`;
      expect(await text(page, `${row} td[data-col=joined]`), c.cohort_month).toBe(fmt(c.joined));
      expect(await text(page, `${row} td[data-col=retention_30d]`), c.cohort_month).toBe(
        pctText(c.retention_30d),
      );
      expect(await text(page, `${row} td[data-col=retention_90d]`), c.cohort_month).toBe(
        pctText(c.retention_90d),
      );
      expect(await text(page, `${row} td[data-col=retention_180d]`), c.cohort_month).toBe(
        pctText(c.retention_180d),
      );
      expect(await text(page, `${row} td[data-col=retention]`), c.cohort_month).toBe(pctText(c.retention));
    }
    expect(await page.$$eval('#cohorts-table tbody tr', (trs) => trs.length)).toBe(
      expectedCohorts(seed).length,
    );

    // Tags: followers per tag name (a tag nobody carries still shows).
    expect(await text(page, '#tags-table tr[data-tag="2"] td[data-col=tag_name]')).toBe('星标组');
    expect(await text(page, '#tags-table tr[data-tag="2"] td[data-col=followers]')).toBe('5');
    expect(await text(page, '#tags-table tr[data-tag="101"] td[data-col=followers]')).toBe('2');
    expect(await text(page, '#tags-table tr[data-tag="100"] td[data-col=followers]')).toBe('0');

    // Pipes: last runs with state, Beijing start time, duration, rows and the Chinese explanation.
    const ok = '#runs tr[data-job="followers"][data-run="1"]';
    expect(await text(page, `${ok} .status`)).toBe('成功');
    expect(await text(page, `${ok} td[data-col=started_at]`)).toBe('2026-03-07 02:00:00');
    expect(await text(page, `${ok} td[data-col=duration_s]`)).toBe('2 分 5 秒');
    expect(await text(page, `${ok} td[data-col=rows]`)).toBe('1,239');
    const ip = '#runs tr[data-job="followers"][data-run="2"]';
    expect(await text(page, `${ip} .status`)).toBe('失败');
    expect(await text(page, `${ip} .explain`)).toBe(
      '调用方 IP 不在公众号的 IP 白名单中（公众平台：设置与开发 > 基本配置 > IP白名单）',
    );
    expect(await text(page, '#runs tr[data-job="datacube"] .explain')).toBe(
      '日期范围错误（最多 7 天，且不晚于昨天）',
    );
    expect(await text(page, '#runs tr[data-job="blacklist"] .status')).toBe('运行中');
    expect(await text(page, '#queues tr[data-queue="sync"] td[data-col=waiting]')).toBe('1');
    // The quota left per path, from quota/get (the fake keeps WeChat's published daily limits).
    expect(await text(page, '#quota tr[data-path="/cgi-bin/user/get"] td[data-col=daily_limit]')).toBe('500');
    expect(await text(page, '#quota tr[data-path="/cgi-bin/user/get"] td[data-col=remain]')).toBe('500');
    expect(await text(page, '#quota tr[data-path="/cgi-bin/user/info"] td[data-col=daily_limit]')).toBe(
      '5,000,000',
    );

    expect(problems).toEqual([]);
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/dashboard-zh-1280.png', fullPage: true });
    await context.close();
  });

  it('switches to English, remembers it, and ?lang= works too', async () => {
    const { context, page, problems } = await loggedIn(seeded);
    await Promise.all([page.waitForURL(/lang=en/), page.click('#lang-switch')]);
    await page.waitForSelector('body[data-loaded="true"]');
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    expect(await text(page, '#panel-growth h2')).toBe('Daily growth by source');
    expect(await text(page, '#tz-label')).toBe('All times are Beijing time (Asia/Shanghai, UTC+08:00)');
    expect(await text(page, '#runs tr[data-job="datacube"] .explain')).toBe(
      'date range error (at most 7 days, ending no later than yesterday)',
    );
    expect(await text(page, '#runs tr[data-job="blacklist"] .status')).toBe('running');
    expect(await text(page, '#hl-followers-now')).toBe('1,234');

    // Remembered: the plain address stays English.
    await page.goto(`${seeded.url}/admin/`);
    await page.waitForSelector('body[data-loaded="true"]');
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    await page.screenshot({ path: 'test-results/dashboard-en-1280.png', fullPage: true });

    await atPhoneWidth(page, 'dashboard-en-390.png');

    // And back to Chinese with ?lang=zh-CN, remembered as well.
    await page.goto(`${seeded.url}/admin/?lang=zh-CN`);
    await page.waitForSelector('body[data-loaded="true"]');
    await page.goto(`${seeded.url}/admin/`);
    await page.waitForSelector('body[data-loaded="true"]');
    expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
    expect(await text(page, '#panel-growth h2')).toBe('每日增长（按来源）');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('is usable at phone width (no sideways scrolling of the page)', async () => {
    const { context, page, problems } = await loggedIn(seeded, PHONE);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(PHONE.width);
    expect(await text(page, '#hl-followers-now')).toBe('1,234');
    expect(await page.getAttribute('#growth-chart', 'data-rendered')).toBe('true');
    expect(problems).toEqual([]);
    await page.screenshot({ path: 'test-results/dashboard-zh-390.png', fullPage: true });
    await context.close();
  });

  it('the range presets drive the time-series panels', async () => {
    const { context, page, problems } = await loggedIn(seeded);
    await Promise.all([page.waitForURL(/days=7/), page.click('.presets a[data-days="7"]')]);
    await page.waitForSelector('body[data-loaded="true"]');
    expect(await page.getAttribute('.presets a[data-days="7"]', 'aria-current')).toBe('true');
    const labels = (await page.evaluate(
      `window.Chart.getChart(document.getElementById('growth-chart')).data.labels`,
    )) as string[];
    expect(labels).toHaveLength(7);
    expect(labels.at(-1)).toBe(seed.days.at(-1));
    expect(await page.inputValue('#range input[name=from]')).toBe(labels[0]);
    expect(await page.inputValue('#range input[name=to]')).toBe(labels.at(-1));
    expect(problems).toEqual([]);
    await context.close();
  });

  it('every CSV download equals its JSON route (BOM, escaping, formula guard)', async () => {
    const { context, page, problems } = await loggedIn(seeded);
    const links = await page.$$eval('a.csv', (as) => as.map((a) => (a as unknown as { href: string }).href));
    expect(links.length).toBe(PANELS.length + 3);
    const clicked = new Set<string>();
    for (const link of links) {
      const url = new URL(link);
      const panel = /\/api\/(\w+)\.csv$/.exec(url.pathname)![1]!;
      // One real download per panel: in this test Chromium stopped reporting downloads after the ninth
      // click on one page (its guard against automatic multiple downloads). Every
      // link's file is also fetched below with the page's session.
      if (!clicked.has(panel)) {
        clicked.add(panel);
        const download = page.waitForEvent('download', { timeout: 10_000 });
        await page.click(`#panel-${panel} a.csv[href="${url.pathname}${url.search}"]`);
        const file = await download;
        expect(file.suggestedFilename()).toMatch(new RegExp(`^wxsync-${panel}-\\d{4}-\\d{2}-\\d{2}\\.csv$`));
      }
      const response = await context.request.get(link);
      expect(response.headers()['content-disposition']).toMatch(
        new RegExp(`^attachment; filename="wxsync-${panel}(-\\w+)?-\\d{4}-\\d{2}-\\d{2}\\.csv"$`),
      );
      expect(response.headers()['content-type']).toBe('text/csv; charset=utf-8');
      const csv = await response.text();
      const jsonUrl = new URL(link);
      jsonUrl.pathname = jsonUrl.pathname.replace(/\.csv$/, '');
      const table = jsonUrl.searchParams.get('table');
      jsonUrl.searchParams.delete('table');
      const json = (await (await context.request.get(jsonUrl.toString())).json()) as Record<
        string,
        unknown
      > & {
        rows: Record<string, unknown>[];
      };
      const rows =
        table === null
          ? json.rows
          : table === 'quota'
            ? (json.quota as { rows: Record<string, unknown>[] }).rows
            : (json[table] as Record<string, unknown>[]);
      const [header, ...body] = parseCsv(csv);
      expect(body.length, link).toBe(rows.length);
      // A running run's duration grows between the two requests: equal within 2 s, the rest exactly.
      const expected = rows.map((r) => header!.map((c) => asCsv(r[c])));
      const d = header!.indexOf('duration_s');
      for (const [i, cells] of body.entries()) {
        if (cells[header!.indexOf('status')] !== 'running') continue;
        expect(Math.abs(Number(cells[d]) - Number(expected[i]![d]))).toBeLessThan(2);
        cells[d] = expected[i]![d]!;
      }
      expect(body, link).toEqual(expected);
    }
    // The injected formula is neutralised, Chinese survives.
    const runs = await (await context.request.get(`${seeded.url}/admin/api/pipes.csv`)).text();
    expect(runs).toContain(`"'=HYPERLINK(""http://example.com"",""click"")"`);
    expect(runs).toContain('调用方 IP 不在公众号的 IP 白名单中');
    const tags = await (await context.request.get(`${seeded.url}/admin/api/tags.csv`)).text();
    expect(tags.split('\r\n')).toContain("100,'=cmd|calc,0,0");
    expect(tags.split('\r\n')).toContain('101,VIP 客户,2,2');
    expect(problems).toEqual([]);
    await context.close();
  });
});

describe('operator dashboard in Chromium (live refresh)', () => {
  it('today by hour reloads itself every 30 s and shows a new follow', async () => {
    const { context, page, problems } = await loggedIn(seeded, DESKTOP, '/admin/', { clock: true });
    const before = await text(page, '#hourly-totals');
    const now = new Date();
    const todayCount = seed.subscribes.filter(
      (d) => beijing(d).slice(0, 10) === beijing(now).slice(0, 10),
    ).length;
    expect(before).toContain(`关注 ${todayCount}，`);
    await seeded.h.deps.db.followerEvent.create({
      data: {
        openid: 'oSeededLiveFollow',
        event: 'subscribe',
        msgType: 'event',
        createTime: now,
        payload: { MsgType: 'event', Event: 'subscribe' },
      },
    });
    const hourlyLoads: number[] = [];
    page.on('request', (r) => {
      if (r.url().endsWith('/admin/api/hourly')) hourlyLoads.push(Date.now());
    });
    const refreshed = page.waitForResponse((r) => r.url().endsWith('/admin/api/hourly'));
    // The page's clock runs on in real time too: 25 s of fake time leaves room for a slow machine.
    await page.clock.fastForward(25_000);
    expect(hourlyLoads).toEqual([]);
    expect(await text(page, '#hourly-totals')).toBe(before);
    await page.clock.fastForward(5_000);
    await refreshed;
    await page.waitForFunction(
      `document.querySelector('#hourly-totals')?.textContent?.includes(${JSON.stringify(`关注 ${todayCount + 1}，`)})`,
    );
    expect(problems).toEqual([]);
    await context.close();
  });
});

describe('operator dashboard in Chromium (empty database)', () => {
  it('every panel says what fills it and how; no chart, no error', async () => {
    // WeChat refuses quota/get here (48001, not authorised): the pipes panel says so and goes on.
    empty.h.fake.faults.set('quota/get', { errcode: 48001, errorRate: 1 });
    const { context, page, problems } = await loggedIn(empty);
    for (const name of PANELS) {
      expect(await page.getAttribute(`#panel-${name}`, 'data-state'), name).toBe('empty');
      const hint = await text(page, `#panel-${name} [data-empty]`);
      expect(hint, name).toMatch(/wxsync (sync|serve)/);
    }
    expect(await page.$$('canvas')).toHaveLength(0);
    expect(await text(page, '#panel-growth [data-empty]')).toContain('wxsync sync datacube --from');
    expect(await text(page, '#quota-unavailable')).toMatch(
      /^配额数据暂不可用（.*errcode 48001.*）：运行 wxsync quota 查看/,
    );
    expect(problems).toEqual([]);
    await page.screenshot({ path: 'test-results/dashboard-empty-zh-1280.png', fullPage: true });
    await atPhoneWidth(page, 'dashboard-empty-zh-390.png');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('the queue board opens with the same session', async () => {
    const { context, page } = await loggedIn(empty);
    const board = await page.goto(`${empty.url}/admin/queues`);
    expect(board?.status()).toBe(200);
    await page.getByText('sync', { exact: true }).first().waitFor({ timeout: 20_000 });
    await page.screenshot({ path: 'test-results/queues.png' });
    await context.close();
  });
});
