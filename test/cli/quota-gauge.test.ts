/** The worker keeps wxsync_wechat_quota_remaining{path} fresh on its /metrics, one label per known path. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeWeChat, startFakeWeChat } from '../../src/fake-wechat/index.ts';
import { startQuotaGauge } from '../../src/runtime/quota-gauge.ts';
import { startWorkerMetrics } from '../../src/runtime/worker-metrics.ts';
import { WECHAT_API_PATHS } from '../../src/wechat/quota.ts';
import { perFile } from '../support/per-file.ts';
import { workerMetricsEnv } from '../support/worker-metrics-env.ts';

let wx: FakeWeChat;
/** Sets what the fake counts as used today of user/get's daily 321 calls. */
const useUserGet = (used: number) =>
  fetch(`${wx.url}/__fake/quotas`, {
    method: 'PUT',
    body: JSON.stringify({ used: { '/cgi-bin/user/get': used } }),
  });

// Hooks run in order, after-hooks in reverse: the fake is up before the workers and outlives them.
beforeAll(async () => {
  wx = await startFakeWeChat({ followers: 20, quotas: { '/cgi-bin/user/get': 321 } });
  await useUserGet(21);
});
afterAll(async () => {
  await wx?.close();
});
const env = perFile(() =>
  workerMetricsEnv({
    name: 'qg',
    starters: [startWorkerMetrics, startQuotaGauge],
    config: { WECHAT_API_BASE: wx.url, WECHAT_QUOTA_REFRESH_S: '1' },
  }),
);
const metrics = () => env.metrics();

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
    await useUserGet(121);
    const later = Date.now() + 10_000;
    while (!(await metrics()).includes('{path="/cgi-bin/user/get"} 200') && Date.now() < later) {
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(await metrics()).toContain('wxsync_wechat_quota_remaining{path="/cgi-bin/user/get"} 200');
  });
});
