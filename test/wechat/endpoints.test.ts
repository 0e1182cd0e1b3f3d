/** Every endpoint round-trips against the fake platform over real HTTP, and every error family maps right. */

import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { beijingDate } from '../../src/calendar.ts';
import { loadConfig } from '../../src/config.ts';
import { InputError, UnavailableError } from '../../src/errors.ts';
import { type FakeWeChat, startFakeWeChat } from '../../src/fake-wechat/index.ts';
import { wechatCalls } from '../../src/metrics.ts';
import { blacklistUsers, iterateBlacklistPages, unblacklistUsers } from '../../src/wechat/blacklist.ts';
import { createWeChatClient, type WeChatClient, type WeChatClientOptions } from '../../src/wechat/client.ts';
import { getUserCumulate, getUserSummary, splitDateRange } from '../../src/wechat/datacube.ts';
import { WeChatApiError, WeChatResponseError, WeChatTransportError } from '../../src/wechat/errors.ts';
import { getApiDomainIp, shortUrl } from '../../src/wechat/platform.ts';
import { getPublisherCpsGeneral, getPublisherSettlement } from '../../src/wechat/publisher.ts';
import { batchGetUserInfo, getUserInfo, iterateFollowerPages } from '../../src/wechat/users.ts';
import { TEST_WECHAT } from '../support/env.ts';
import { ClientPool, captureLog, collect } from '../support/wechat-clients.ts';

let wx: FakeWeChat;
let pool: ClientPool;
let client: WeChatClient;

beforeAll(async () => {
  wx = await startFakeWeChat({
    seed: 3,
    followers: 300,
    blacklist: 50,
    blacklistPageSize: 20,
    statsDays: 40,
  });
  pool = new ClientPool();
  client = pool.client(wx.url, captureLog().log, { maxAttempts: 3 });
});
afterEach(() => wx.faults.clear());
afterAll(async () => {
  await pool.close();
  await wx.close();
});

/** Calls made to one fake endpoint while `fn` runs. */
async function countCalls<T>(endpoint: Parameters<FakeWeChat['calls']['count']>[0], fn: () => Promise<T>) {
  const before = wx.calls.count(endpoint);
  let result: T | undefined;
  let error: unknown;
  try {
    result = await fn();
  } catch (e) {
    error = e;
  }
  return { calls: wx.calls.count(endpoint) - before, result, error };
}

describe('round trips', () => {
  it('get_api_domain_ip', async () => {
    const ips = await getApiDomainIp(client);
    expect(ips.length).toBeGreaterThan(0);
    expect(ips.every((ip) => /^\d+\.\d+\.\d+\.\d+/.test(ip))).toBe(true);
  });

  it('shorturl surfaces WeChat retiring it, without retrying', async () => {
    const { calls, error } = await countCalls('shorturl', () => shortUrl(client, 'https://example.com/a'));
    expect(error).toBeInstanceOf(WeChatApiError);
    expect((error as WeChatApiError).errcode).toBe(48001);
    expect((error as WeChatApiError).retryable).toBe(false);
    expect((error as WeChatApiError).endpoint).toBe('/cgi-bin/shorturl');
    expect(calls).toBe(1);
  });

  it('user/info', async () => {
    const openid = wx.state.followerOpenids()[7]!;
    expect(await getUserInfo(client, openid)).toEqual(wx.state.profile(openid));
  });

  it('user/info/batchget chunks by 100 and keeps order, ex-followers included', async () => {
    const openids = [
      ...wx.state.followerOpenids().slice(0, 240),
      ...wx.state.exFollowerOpenids().slice(0, 5),
    ];
    const { calls, result } = await countCalls('user/info/batchget', () => batchGetUserInfo(client, openids));
    expect(calls).toBe(3);
    expect(wx.calls.maxBatch('user/info/batchget')).toBeLessThanOrEqual(100);
    expect(result!.map((u) => u.openid)).toEqual(openids);
    expect(result!.slice(-5).every((u) => u.subscribe === 0)).toBe(true);
    expect(result![0]).toEqual(wx.state.profile(openids[0]!));
  });

  it('user/get yields every follower then stops on the empty page', async () => {
    const pages = await collect(iterateFollowerPages(client));
    expect(pages.flatMap((p) => p.openids)).toEqual(wx.state.followerOpenids());
    expect(pages[0]!.total).toBe(300);
  });

  it('getblacklist pages by the server page size (20 here)', async () => {
    const { calls, result } = await countCalls('getblacklist', () => collect(iterateBlacklistPages(client)));
    expect(result!.map((p) => p.openids.length)).toEqual([20, 20, 10]);
    expect(result!.flatMap((p) => p.openids)).toEqual(wx.state.blacklistOpenids());
    expect(calls).toBe(4); // three pages and the empty one
    const rest = await collect(iterateBlacklistPages(client, { beginOpenid: result![0]!.nextOpenid }));
    expect(rest.flatMap((p) => p.openids)).toEqual(wx.state.blacklistOpenids().slice(20));
  });

  it('batchblacklist / batchunblacklist chunk by 20 and report per openid; a failing chunk does not stop the rest', async () => {
    const black = new Set(wx.state.blacklistOpenids());
    const targets = wx.state
      .followerOpenids()
      .filter((o) => !black.has(o))
      .slice(0, 45);
    const foreign = 'oFOREIGNxxxxxxxxxxxxxxxxxxxx';
    // chunks: [0..19] ok, [20..38 + foreign] fails with 49003, [39..44] ok
    const input = [...targets.slice(0, 39), foreign, ...targets.slice(39)];
    const { calls, result } = await countCalls('batchblacklist', () => blacklistUsers(client, input));
    expect(calls).toBe(3);
    expect(wx.calls.maxBatch('batchblacklist')).toBe(20);
    expect(result!.map((r) => r.openid)).toEqual(input);
    const failed = result!.filter((r) => !r.ok);
    expect(failed).toHaveLength(20);
    expect(failed.every((r) => r.errcode === 49003)).toBe(true);
    expect(result!.slice(0, 20).every((r) => r.ok)).toBe(true);
    expect(result!.slice(40).every((r) => r.ok)).toBe(true);
    const nowBlack = new Set(wx.state.blacklistOpenids());
    expect(targets.slice(0, 20).every((o) => nowBlack.has(o))).toBe(true);
    expect(targets.slice(20, 39).some((o) => nowBlack.has(o))).toBe(false);
    expect(targets.slice(39).every((o) => nowBlack.has(o))).toBe(true);

    const undo = await unblacklistUsers(client, [...targets.slice(0, 20), ...targets.slice(39)]);
    expect(undo.every((r) => r.ok)).toBe(true);
    expect(new Set(wx.state.blacklistOpenids())).toEqual(black);
  });

  it('an account-wide failure fills the remaining chunks without calling', async () => {
    wx.faults.set('batchblacklist', { errcode: 45009, errorRate: 1 });
    const openids = wx.state.followerOpenids().slice(0, 50);
    const { calls, result } = await countCalls('batchblacklist', () => blacklistUsers(client, openids));
    expect(calls).toBe(1);
    expect(result).toHaveLength(50);
    expect(result!.every((r) => !r.ok && r.errcode === 45009)).toBe(true);
  });

  it('datacube: windows up to yesterday, summary and cumulate', async () => {
    const today = beijingDate();
    const yesterday = new Date(Date.parse(`${today}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
    const from = new Date(Date.parse(`${today}T00:00:00Z`) - 20 * 86_400_000).toISOString().slice(0, 10);
    const { windows, clippedTo } = splitDateRange(from, today, { today });
    expect(clippedTo).toBe(yesterday);
    expect(windows).toHaveLength(3);
    const cumulate = [];
    const summary = [];
    for (const w of windows) {
      cumulate.push(...(await getUserCumulate(client, w)));
      summary.push(...(await getUserSummary(client, w)));
    }
    expect(cumulate.map((r) => r.ref_date)).toHaveLength(20);
    expect(cumulate.at(-1)!.ref_date).toBe(yesterday);
    expect(summary.length).toBeGreaterThan(0);
    expect(summary.every((r) => r.ref_date >= from && r.ref_date <= yesterday)).toBe(true);
  });

  it('datacube: a window ending today is WeChat error 61501, not retried; an 8-day window is refused locally', async () => {
    const today = beijingDate();
    const { calls, error } = await countCalls('getusersummary', () =>
      getUserSummary(client, { begin_date: today, end_date: today }),
    );
    expect(calls).toBe(1);
    expect((error as WeChatApiError).errcode).toBe(61501);
    await expect(
      getUserCumulate(client, { begin_date: '2024-01-01', end_date: '2024-01-08' }),
    ).rejects.toThrow(InputError);
  });

  it('publisher_cps_general reads every page (page_size <= 90)', async () => {
    const all = [...wx.state.stats.cps.values()];
    const range = { startDate: all[0]!.date, endDate: all.at(-1)!.date };
    const { calls, result } = await countCalls('publisher_cps_general', () =>
      getPublisherCpsGeneral(client, { ...range, pageSize: 7 }),
    );
    expect(result!.list).toEqual(all);
    expect(result!.total_num).toBe(all.length);
    expect(result!.summary?.total_fee).toBe(all.reduce((a, r) => a + r.total_fee, 0));
    expect(calls).toBe(Math.ceil(all.length / 7));
    const big = await getPublisherCpsGeneral(client, { ...range, pageSize: 500 });
    expect(big.list).toEqual(all);
  });

  it('publisher_settlement reads every page', async () => {
    const all = wx.state.stats.settlements;
    expect(all.length).toBeGreaterThan(1);
    const result = await getPublisherSettlement(client, {
      startDate: all[0]!.date,
      endDate: all.at(-1)!.date,
      pageSize: 1,
    });
    expect(result.settlement_list).toEqual(all);
    expect(result.total_num).toBe(all.length);
    expect(result.revenue_all).toBeGreaterThan(0);
  });
});

describe('error families', () => {
  it('publisher base_resp.ret != 0 is a WeChatApiError with errcode = ret, and 45009 says why and does not retry', async () => {
    wx.faults.set('publisher_cps_general', { errcode: 45009, errorRate: 1 });
    const { calls, error } = await countCalls('publisher_cps_general', () =>
      getPublisherCpsGeneral(client, { startDate: '2024-01-01', endDate: '2024-01-02' }),
    );
    expect(calls).toBe(1);
    expect(error).toBeInstanceOf(WeChatApiError);
    expect((error as WeChatApiError).errcode).toBe(45009);
    expect((error as WeChatApiError).message).toContain('daily API quota reached, retry after midnight');
    expect((error as WeChatApiError).endpoint).toBe('/publisher/stat');
  });

  it.each([-1, 45011])(
    'errcode %i retries with backoff up to maxAttempts, then throws a retryable error',
    async (errcode) => {
      wx.faults.set('get_api_domain_ip', { errcode, errorRate: 1 });
      const { calls, error } = await countCalls('get_api_domain_ip', () => getApiDomainIp(client));
      expect(calls).toBe(3);
      expect(error).toBeInstanceOf(WeChatApiError);
      expect((error as WeChatApiError).errcode).toBe(errcode);
      expect((error as WeChatApiError).retryable).toBe(true);
    },
  );

  it.each([40164, 48001, 45009])('errcode %i is permanent: one call, not retryable', async (errcode) => {
    wx.faults.set('get_api_domain_ip', { errcode, errorRate: 1 });
    const { calls, error } = await countCalls('get_api_domain_ip', () => getApiDomainIp(client));
    expect(calls).toBe(1);
    expect((error as WeChatApiError).errcode).toBe(errcode);
    expect((error as WeChatApiError).retryable).toBe(false);
  });

  it.each([
    [{ http502Rate: 1 }, 'http_status', 'http_502'],
    [{ http500Rate: 1 }, 'http_status', 'http_500'],
    [{ truncateRate: 1 }, 'truncated', 'truncated'],
    [{ nonJsonRate: 1 }, 'non_json', 'non_json'],
  ] as const)('fault %j is a retryable WeChatTransportError (%s)', async (rule, kind, label) => {
    wx.faults.set('get_api_domain_ip', rule);
    const { calls, error } = await countCalls('get_api_domain_ip', () => getApiDomainIp(client));
    expect(calls).toBe(3);
    expect(error).toBeInstanceOf(WeChatTransportError);
    expect((error as WeChatTransportError).kind).toBe(kind);
    expect((error as WeChatTransportError).label).toBe(label);
    expect((error as WeChatTransportError).retryable).toBe(true);
  });

  it('a dropped connection is a retryable connection error', async () => {
    wx.faults.set('get_api_domain_ip', { dropRate: 1 });
    const { calls, error } = await countCalls('get_api_domain_ip', () => getApiDomainIp(client));
    expect(calls).toBe(3);
    expect(error).toBeInstanceOf(WeChatTransportError);
    expect(['connection', 'truncated']).toContain((error as WeChatTransportError).kind);
    expect((error as WeChatTransportError).retryable).toBe(true);
  });

  it('a timeout is a retryable transport error', async () => {
    const slow = pool.client(wx.url, captureLog().log, { timeoutMs: 100, maxAttempts: 2 });
    await slow.tokens.get(); // fetch the token before the endpoint turns slow
    wx.faults.set('get_api_domain_ip', { latencyMs: 400 });
    const { calls, error } = await countCalls('get_api_domain_ip', () => getApiDomainIp(slow));
    expect(calls).toBe(2);
    expect(error).toBeInstanceOf(WeChatTransportError);
    expect((error as WeChatTransportError).kind).toBe('timeout');
  });

  it('transient failures at a 40% rate are absorbed by the retries', async () => {
    wx.faults.set('get_api_domain_ip', { errcode: -1, errorRate: 0.2, http502Rate: 0.2 });
    const { calls, error } = await countCalls('get_api_domain_ip', async () => {
      for (let i = 0; i < 20; i++)
        await getApiDomainIp(pool.client(wx.url, captureLog().log, { maxAttempts: 8 }));
    });
    expect(error).toBeUndefined();
    expect(calls).toBeGreaterThan(20);
  });

  it('an answer that does not match the schema is a WeChatResponseError naming the field', async () => {
    const error = await client
      .get('/cgi-bin/get_api_domain_ip', {}, z.object({ ip_list: z.array(z.number()) }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeChatResponseError);
    expect((error as WeChatResponseError).retryable).toBe(false);
    expect((error as WeChatResponseError).message).toContain('ip_list.0');
  });

  /** The first call of a client with `overrides` (its own token prefix): stable_token calls made, the error. */
  const tokenFetchOf = (suffix: string, overrides: Partial<WeChatClientOptions>) => {
    const client = pool.client(wx.url, captureLog().log, {
      ...overrides,
      keyPrefix: `${pool.prefix}-${suffix}`,
    });
    return countCalls('stable_token', () => getApiDomainIp(client));
  };

  it('wrong secret (40125) and wrong appid (40013) fail at the token fetch, once, without the secret in the message', async () => {
    const a = await tokenFetchOf('secret', { appSecret: 'wrongsecret0123456789abcdef01234' });
    expect(a.calls).toBe(1);
    expect((a.error as WeChatApiError).errcode).toBe(40125);
    expect((a.error as WeChatApiError).endpoint).toBe('/cgi-bin/stable_token');
    expect((a.error as Error).message).not.toContain('wrongsecret');
    expect((a.error as Error).message).toContain('WECHAT_APP_SECRET');

    const b = await tokenFetchOf('appid', { appId: 'wx9999999999999999' });
    expect(b.calls).toBe(1);
    expect((b.error as WeChatApiError).errcode).toBe(40013);
    expect((b.error as WeChatApiError).retryable).toBe(false);
  });

  it('an unreachable API base is a retryable connection error', async () => {
    const nowhere = pool.client('http://127.0.0.1:1', captureLog().log, {
      maxAttempts: 2,
      keyPrefix: `${pool.prefix}-nowhere`,
    });
    const error = await getApiDomainIp(nowhere).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeChatTransportError);
    expect((error as WeChatTransportError).kind).toBe('connection');
    expect((error as WeChatTransportError).label).toBe('econnrefused');
    expect((error as WeChatTransportError).endpoint).toBe('/cgi-bin/stable_token');
  });
});

describe('wiring', () => {
  it('createWeChatClient maps the configuration (API base, QUEUE_PREFIX as key prefix)', async () => {
    const config = loadConfig({
      ...TEST_WECHAT,
      DATABASE_URL: 'postgresql://root@127.0.0.1:5432/unused',
      WECHAT_API_BASE: wx.url,
      QUEUE_PREFIX: `${pool.prefix}-cfg`,
      WECHAT_MAX_ATTEMPTS: '2',
    });
    const configured = createWeChatClient(config, { redis: pool.redis(), log: captureLog().log });
    try {
      expect(await getApiDomainIp(configured)).toEqual(await getApiDomainIp(client));
      // Stable tokens by default, under their own key (a classic fleet keeps the old key).
      expect(configured.tokenApi).toBe('stable');
      expect(configured.tokens.key).toBe(
        `${pool.prefix}-cfg:wechat:token:${TEST_WECHAT.WECHAT_APP_ID}:stable`,
      );
      expect(await configured.tokens.read()).toBeDefined();
      wx.faults.set('get_api_domain_ip', { http502Rate: 1 });
      const { calls } = await countCalls('get_api_domain_ip', () => getApiDomainIp(configured));
      expect(calls).toBe(2);
    } finally {
      configured.close();
    }
  });

  it('counts calls per endpoint and outcome in metrics', async () => {
    const value = async (errcode: string) =>
      (await wechatCalls.get()).values.find(
        (v) => v.labels.endpoint === '/cgi-bin/get_api_domain_ip' && v.labels.errcode === errcode,
      )?.value ?? 0;
    const ok = await value('0');
    const bad = await value('http_502');
    await getApiDomainIp(client);
    wx.faults.set('get_api_domain_ip', { http502Rate: 1 });
    await getApiDomainIp(client).catch(() => undefined);
    expect(await value('0')).toBe(ok + 1);
    expect(await value('http_502')).toBe(bad + 3);
  });

  it('counts errcodes it knows under their number and every other one as "other" (bounded labels)', async () => {
    const labels = async () =>
      (await wechatCalls.get()).values
        .filter((v) => v.labels.endpoint === '/cgi-bin/get_api_domain_ip')
        .map((v) => String(v.labels.errcode));
    for (const errcode of [48001, 12345, 67890, 99999]) {
      wx.faults.set('get_api_domain_ip', { errcode, errorRate: 1 });
      await getApiDomainIp(client).catch(() => undefined);
    }
    const seen = await labels();
    expect(seen).toContain('48001');
    expect(seen).toContain('other');
    for (const unknown of ['12345', '67890', '99999']) expect(seen).not.toContain(unknown);
  });

  it('a Redis outage is an UnavailableError (503, retryable), not a raw ioredis error', async () => {
    const down = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
    });
    const offline = pool.client(wx.url, captureLog().log, { redis: down });
    try {
      const error = await getApiDomainIp(offline).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnavailableError);
      expect((error as UnavailableError).retryable).toBe(true);
    } finally {
      down.disconnect();
    }
  });
});
