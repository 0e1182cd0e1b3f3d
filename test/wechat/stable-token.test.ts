/**
 * The default token API, stable_token: shared with the owner's other systems instead of fighting
 * them; recovery after a rejected token asks again in normal mode and forces a refresh only when
 * WeChat hands back the very token that failed: once for the fleet, 30 s apart, within the daily
 * allowance, never in a loop.
 */
import { describe, expect, it } from 'vitest';
import { registry } from '../../src/metrics.ts';
import { WeChatApiError } from '../../src/wechat/errors.ts';
import { getApiDomainIp } from '../../src/wechat/platform.ts';
import { getUserInfo } from '../../src/wechat/users.ts';
import { captureLog, fakeWithClientPools } from '../support/wechat-clients.ts';

const { wx, newPool } = fakeWithClientPools({ seed: 9, followers: 50 }, 'stable');

async function forcedMetric(outcome: string): Promise<number> {
  const metric = await registry.getSingleMetric('wxsync_access_token_forced_refreshes_total')!.get();
  return metric.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
}

describe('stable_token (default)', () => {
  it('20 concurrent callers in 3 clients make one stable_token call and none to /cgi-bin/token', async () => {
    const pool = newPool();
    const { log } = captureLog();
    const clients = [0, 1, 2].map(() => pool.client(wx.url, log));
    expect(clients[0]!.tokenApi).toBe('stable');
    expect(clients[0]!.tokenPath).toBe('/cgi-bin/stable_token');
    wx.faults.set('stable_token', { latencyMs: 150 });
    const before = wx.calls.snapshot().counts;
    await Promise.all(Array.from({ length: 20 }, (_, i) => getApiDomainIp(clients[i % 3]!)));
    expect(wx.calls.count('stable_token') - (before.stable_token ?? 0)).toBe(1);
    expect(wx.calls.count('token') - (before.token ?? 0)).toBe(0);
  });

  it('another system fetching classic and stable tokens all the time never knocks ours out: zero 40001', async () => {
    const pool = newPool();
    const client = pool.client(wx.url, captureLog().log);
    const openid = wx.state.followerOpenids()[0]!;
    await getUserInfo(client, openid);
    const rejectedBefore = wx.calls.errcodeCount(40001);
    wx.other.set('classic', 0.02);
    wx.other.set('stable', 0.02);
    const started = Date.now();
    let calls = 0;
    while (Date.now() - started < 800) {
      await getUserInfo(client, openid);
      calls++;
    }
    expect(wx.other.snapshot().classic!.fetched).toBeGreaterThan(10);
    expect(wx.other.snapshot().stable!.fetched).toBeGreaterThan(10);
    expect(calls).toBeGreaterThan(20);
    expect(wx.calls.errcodeCount(40001) - rejectedBefore).toBe(0);
  });

  it("a neighbour's forced refresh costs us one 40001 and one normal re-fetch, no forced refresh of ours", async () => {
    const pool = newPool();
    const client = pool.client(wx.url, captureLog().log);
    await getApiDomainIp(client);
    const mine = (await client.tokens.read())!.token;
    const forcedBefore = wx.state.tokens.forcedRefreshCount;
    const stableBefore = wx.calls.count('stable_token');
    await new Promise((r) => setTimeout(r, 10));
    expect(await wx.other.fetchOnce('force')).toBe(0);
    await getApiDomainIp(client);
    expect((await client.tokens.read())!.token).not.toBe(mine);
    expect(wx.state.tokens.forcedRefreshCount - forcedBefore).toBe(1); // the neighbour's only
    expect(wx.calls.count('stable_token') - stableBefore).toBe(2); // theirs + our normal one
  });

  it('stable_token handing back the rejected token: ONE forced refresh for 20 callers in 3 clients, logged and counted', async () => {
    const pool = newPool();
    const { log, lines } = captureLog();
    const clients = [0, 1, 2].map(() => pool.client(wx.url, log));
    await getApiDomainIp(clients[0]!);
    const poisoned = (await clients[0]!.tokens.read())!.token;
    const forcedBefore = wx.state.tokens.forcedRefreshCount;
    const metricBefore = await forcedMetric('refreshed');
    // Let a neighbour's forced refresh from the previous test fall out of WeChat's 30 s window.
    wx.state.clock.advance(31_000);
    expect(wx.state.tokens.poisonStable()).toBe(true);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => getApiDomainIp(clients[i % 3]!)));
    expect(results).toHaveLength(20);
    expect(wx.state.tokens.forcedRefreshCount - forcedBefore).toBe(1);
    expect(await forcedMetric('refreshed')).toBe(metricBefore + 1);
    expect((await clients[1]!.tokens.read())!.token).not.toBe(poisoned);
    expect(await clients[0]!.tokens.forcedToday()).toBe(1);
    expect(lines.filter((l) => l.includes('forced a refresh')).length).toBe(1);
  });

  it('a second poisoned token within 30 s is not forced again: the call fails with 40001, no loop', async () => {
    const pool = newPool();
    const client = pool.client(wx.url, captureLog().log);
    await getApiDomainIp(client);
    wx.state.clock.advance(31_000);
    wx.state.tokens.poisonStable();
    await getApiDomainIp(client); // forced once
    const forcedBefore = wx.state.tokens.forcedRefreshCount;
    const suppressedBefore = await forcedMetric('suppressed_interval');
    wx.state.tokens.poisonStable();
    const callsBefore = wx.calls.count('get_api_domain_ip');
    const error = await getApiDomainIp(client).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeChatApiError);
    expect((error as WeChatApiError).errcode).toBe(40001);
    expect(wx.calls.count('get_api_domain_ip') - callsBefore).toBe(1);
    expect(wx.state.tokens.forcedRefreshCount).toBe(forcedBefore);
    expect(await forcedMetric('suppressed_interval')).toBe(suppressedBefore + 1);
  });

  it('the daily allowance (counted in Redis per Beijing day) is never exceeded', async () => {
    const pool = newPool();
    const redis = pool.redis();
    const { log, lines } = captureLog();
    const client = pool.client(wx.url, log, { forceRefreshDailyMax: 1, redis });
    wx.state.tokens.expireAll(); // start from a healthy token (the last test left a poisoned one)
    await getApiDomainIp(client);
    wx.state.clock.advance(31_000);
    wx.state.tokens.poisonStable();
    await getApiDomainIp(client);
    expect(lines.filter((l) => l.includes('forced a refresh')).length).toBe(1);
    expect(await client.tokens.forcedToday()).toBe(1);
    // 30 s later (both for WeChat and for our guard), poisoned again: the allowance of 1 is spent.
    wx.state.clock.advance(31_000);
    await redis.del(`${client.tokens.key}:forced-recently`);
    wx.state.tokens.poisonStable();
    const forcedBefore = wx.state.tokens.forcedRefreshCount;
    const suppressedBefore = await forcedMetric('suppressed_daily');
    const error = await getApiDomainIp(client).catch((e: unknown) => e);
    expect((error as WeChatApiError).errcode).toBe(40001);
    expect(wx.state.tokens.forcedRefreshCount).toBe(forcedBefore);
    expect(await forcedMetric('suppressed_daily')).toBe(suppressedBefore + 1);
  });

  it('classic mode still retries once with a fresh token when a neighbour fetched a classic token', async () => {
    const pool = newPool('classic');
    const client = pool.client(wx.url, captureLog().log);
    await getApiDomainIp(client);
    const mine = (await client.tokens.read())!.token;
    await wx.other.fetchOnce('classic');
    wx.state.clock.advance(301_000); // past WeChat's 5-minute overlap
    const rejected = wx.calls.errcodeCount(40001);
    await getApiDomainIp(client);
    expect(wx.calls.errcodeCount(40001) - rejected).toBe(1);
    expect((await client.tokens.read())!.token).not.toBe(mine);
  });
});
