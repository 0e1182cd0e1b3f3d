/**
 * The growth dashboard in a real browser: Debian's Chromium driven by playwright-core. Seeds
 * statistics, followers and runs, logs in through the login form like an operator, and checks that
 * both charts were drawn with the seeded numbers. Screenshot: test-results/dashboard.png.
 */
import { existsSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type Harness, startHarness } from '../ops/harness.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const DAYS = ['2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04', '2026-03-05'];
/** [user_source, new_user per day, cancel_user per day] */
const SOURCES: [number, number[], number[]][] = [
  [0, [5, 6, 7, 8, 9], [1, 1, 1, 1, 1]],
  [1, [10, 12, 9, 14, 11], [2, 3, 1, 2, 4]],
  [30, [20, 25, 30, 18, 22], [5, 4, 6, 3, 2]],
];
const CUMULATE = [1000, 1050, 1110, 1160, 1210];

interface ChartSnapshot {
  type: string;
  labels: string[];
  datasets: { label: string; data: (number | null)[]; stack?: string }[];
}

/** Each chart's type, labels and datasets (Chart.getChart), and how many pixels it painted. */
const READ_CHARTS = `(() => {
  const read = (id) => {
    const chart = window.Chart.getChart(document.getElementById(id));
    return {
      type: chart.config.type,
      labels: chart.data.labels,
      datasets: chart.data.datasets.map((d) => ({ label: d.label, data: d.data, stack: d.stack })),
    };
  };
  const painted = (id) => {
    const canvas = document.getElementById(id);
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) n++;
    return n;
  };
  return {
    growth: read('growth-chart'),
    cumulate: read('cumulate-chart'),
    paintedGrowth: painted('growth-chart'),
    paintedCumulate: painted('cumulate-chart'),
  };
})()`;

let h: Harness;
let server: ReturnType<typeof serve>;
let baseUrl: string;
let browser: Browser;

beforeAll(async () => {
  h = await startHarness();
  const db = h.deps.db;
  for (const [source, news, cancels] of SOURCES) {
    await db.userSummary.createMany({
      data: DAYS.map((day, i) => ({
        refDate: new Date(`${day}T00:00:00Z`),
        userSource: source,
        newUser: news[i]!,
        cancelUser: cancels[i]!,
      })),
    });
  }
  await db.userCumulate.createMany({
    data: DAYS.map((day, i) => ({ refDate: new Date(`${day}T00:00:00Z`), cumulateUser: CUMULATE[i]! })),
  });
  // Followers who followed before the range: the stored line sits at 40 every day.
  await db.follower.createMany({
    data: Array.from({ length: 40 }, (_, i) => ({
      openid: `oSeededFollower${String(i).padStart(6, '0')}`,
      subscribe: true,
      subscribeTime: new Date('2026-01-15T00:00:00Z'),
    })),
  });
  await db.syncRun.createMany({
    data: [
      {
        job: 'followers',
        status: 'succeeded',
        trigger: 'schedule',
        startedAt: new Date('2026-03-06T02:00:00Z'),
        finishedAt: new Date('2026-03-06T02:10:00Z'),
      },
      {
        job: 'datacube',
        status: 'failed',
        trigger: 'schedule',
        startedAt: new Date('2026-03-06T09:00:00Z'),
        finishedAt: new Date('2026-03-06T09:00:05Z'),
        error: 'errcode 61501',
      },
      { job: 'blacklist', status: 'running', trigger: 'admin', startedAt: new Date('2026-03-06T10:00:00Z') },
    ],
  });
  await h.queues.find((q) => q.name === 'sync')!.add('datacube', { trigger: 'test' });

  await new Promise<void>((resolve) => {
    server = serve({ fetch: h.app.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => {
      baseUrl = `http://127.0.0.1:${info.port}`;
      resolve();
    });
  });
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
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await h?.close();
});

describe('growth dashboard in Chromium', () => {
  it('has a browser to drive', () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} missing: apt-get install chromium`).toBe(true);
  });

  it('logs in through the form and draws both charts with the seeded data', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    const failedRequests: string[] = [];
    page.on('requestfailed', (r) => failedRequests.push(r.url()));
    const consoleErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });

    // Without a session the page is the login form.
    const first = await page.goto(`${baseUrl}/admin/?from=${DAYS[0]}&to=${DAYS.at(-1)}`);
    expect(first?.status()).toBe(401);
    await page.fill('input[name=token]', ADMIN_TOKEN);
    await Promise.all([page.waitForURL(`${baseUrl}/admin/`), page.click('button[type=submit]')]);
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === 'wxsync_admin')).toMatchObject({
      httpOnly: true,
      sameSite: 'Strict',
    });

    consoleErrors.length = 0; // the 401 of the first visit is expected
    await page.goto(`${baseUrl}/admin/?from=${DAYS[0]}&to=${DAYS.at(-1)}`);
    await page.waitForSelector('#growth-chart[data-rendered="true"]');
    await page.waitForSelector('#cumulate-chart[data-rendered="true"]');

    // Runs in the page (a string: this project's TypeScript has no DOM types).
    const charts = (await page.evaluate(READ_CHARTS)) as {
      growth: ChartSnapshot;
      cumulate: ChartSnapshot;
      paintedGrowth: number;
      paintedCumulate: number;
    };

    expect(charts.growth.type).toBe('bar');
    expect(charts.growth.labels).toEqual(DAYS);
    const expectedGrowth = SOURCES.map(([, news, cancels]) => news.map((n, i) => n - cancels[i]!));
    expect(charts.growth.datasets.map((d) => d.data)).toEqual(expectedGrowth);
    expect(charts.growth.datasets.map((d) => d.label)).toEqual(['other', 'account search', 'QR code scan']);
    expect(new Set(charts.growth.datasets.map((d) => d.stack)).size).toBe(1);

    expect(charts.cumulate.type).toBe('line');
    expect(charts.cumulate.labels).toEqual(DAYS);
    expect(charts.cumulate.datasets[0]?.data).toEqual(CUMULATE);
    expect(charts.cumulate.datasets[1]?.data).toEqual(DAYS.map(() => 40));

    expect(charts.paintedGrowth).toBeGreaterThan(1000);
    expect(charts.paintedCumulate).toBeGreaterThan(1000);

    // Last runs with their status, and queue depths, as tables.
    expect(await page.textContent('#runs tr[data-job="datacube"] .status-failed')).toBe('failed');
    expect(await page.textContent('#runs tr[data-job="followers"] .status-succeeded')).toBe('succeeded');
    expect(await page.textContent('#runs tr[data-job="blacklist"] .status-running')).toBe('running');
    expect(await page.textContent('#queues tr[data-queue="sync"] td:nth-child(2)')).toBe('1');
    expect(await page.textContent('#followers-now')).toBe('40');
    expect(await page.textContent('#cumulate-latest')).toBe('1210');

    expect(failedRequests).toEqual([]);
    expect(consoleErrors, consoleErrors.join('\n')).toEqual([]);

    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/dashboard.png', fullPage: true });
    expect(existsSync('test-results/dashboard.png')).toBe(true);
    await context.close();
  });

  it('opens the queue board with the same session', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${baseUrl}/admin/login`);
    await page.fill('input[name=token]', ADMIN_TOKEN);
    await Promise.all([page.waitForURL(`${baseUrl}/admin/`), page.click('button[type=submit]')]);
    const board = await page.goto(`${baseUrl}/admin/queues`);
    expect(board?.status()).toBe(200);
    // The board's own UI lists our queues once its API answered (through the cookie).
    await page.getByText('sync', { exact: true }).first().waitFor({ timeout: 20_000 });
    await page.screenshot({ path: 'test-results/queues.png' });
    await context.close();
  });
});
