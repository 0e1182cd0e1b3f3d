/** The worker keeps wxsync_wechat_quota_remaining{path} fresh on its /metrics, one label per known path. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeWeChat, startFakeWeChat } from '../../src/fake-wechat/index.ts';
import { createLogger } from '../../src/logger.ts';
import { startQuotaGauge } from '../../src/runtime/quota-gauge.ts';
import { startWorkerMetrics } from '../../src/runtime/worker-metrics.ts';
import { type RunningWorkers, startWorkers } from '../../src/runtime/workers.ts';
import { WECHAT_API_PATHS } from '../../src/wechat/quota.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';
import { freePort } from '../support/redis-server.ts';
import { testConfig } from '../support/wx.ts';

const ADMIN_TOKEN = 'quota-gauge-test-token-0123456789';
let t: TestDatabase;
let wx: FakeWeChat;
let workers: RunningWorkers;
let base: string;

beforeAll(async () => {
  t = await freshDatabase();
  wx = await startFakeWeChat({ followers: 20, quotas: { '/cgi-bin/user/get': 321 } });
  await fetch(`${wx.url}/__fake/quotas`, {
    method: 'PUT',
    body: JSON.stringify({ used: { '/cgi-bin/user/get': 21 } }),
  });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const config = testConfig({
    DATABASE_URL: t.url,
    QUEUE_PREFIX: `qg-${process.pid}-${Date.now()}`,
    WORKER_METRICS_PORT: String(port),
    HOST: '127.0.0.1',
    ADMIN_TOKEN,
    WECHAT_API_BASE: wx.url,
    WECHAT_QUOTA_REFRESH_S: '1',
  });
  workers = await startWorkers(config, createLogger('silent'), {
    starters: [startWorkerMetrics, startQuotaGauge],
  });
});
afterAll(async () => {
  await workers?.close();
  await wx?.close();
  await t?.drop();
});

const metrics = async () =>
  (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();

describe('quota gauge', () => {
  it('exposes the remaining calls of every path and follows the platform', async () => {
    const deadline = Date.now() + 10_000;
    let text = await metrics();
    while (
      !text.includes('wxsync_wechat_quota_remaining{path="/cgi-bin/user/get"}') &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 100));
      text = await metrics();
    }
    expect(text).toContain('wxsync_wechat_quota_remaining{path="/cgi-bin/user/get"} 300');
    expect(text).toContain('wxsync_wechat_quota_remaining{path="/cgi-bin/stable_token"}');
    const labels = [...text.matchAll(/wxsync_wechat_quota_remaining\{path="([^"]+)"\}/g)].map((m) => m[1]);
    expect(new Set(labels)).toEqual(new Set(['/cgi-bin/stable_token', ...WECHAT_API_PATHS]));

    // Refreshed periodically (1 s here): more use shows up without a restart.
    await fetch(`${wx.url}/__fake/quotas`, {
      method: 'PUT',
      body: JSON.stringify({ used: { '/cgi-bin/user/get': 121 } }),
    });
    const later = Date.now() + 10_000;
    while (!(await metrics()).includes('{path="/cgi-bin/user/get"} 200') && Date.now() < later) {
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(await metrics()).toContain('wxsync_wechat_quota_remaining{path="/cgi-bin/user/get"} 200');
  });
});
