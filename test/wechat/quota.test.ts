/** Quota client: getApiQuota / report / planning helper / clears against the fake; 45009 as a typed error naming the next reset. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextQuotaReset } from '../../src/calendar.ts';
import { type FakeWeChat, startFakeWeChat } from '../../src/fake-wechat/index.ts';
import { isQuotaExhausted, QuotaExhaustedError, WeChatApiError } from '../../src/wechat/errors.ts';
import {
  cachedQuotaReport,
  clearAllQuota,
  clearApiQuota,
  getApiQuota,
  quotaPaths,
  quotaReport,
  remainingQuota,
  WECHAT_API_PATHS,
} from '../../src/wechat/quota.ts';
import { batchGetUserInfo } from '../../src/wechat/users.ts';
import { ClientPool, captureLog } from '../support/wechat-clients.ts';

let wx: FakeWeChat;
let pool: ClientPool;

beforeAll(async () => {
  wx = await startFakeWeChat({ seed: 21, followers: 300, quotas: { '/cgi-bin/user/info/batchget': 2 } });
  pool = new ClientPool();
});
afterAll(async () => {
  await pool.close();
  await wx.close();
});

describe('nextQuotaReset', () => {
  it('is the next 00:00 Beijing time (16:00 UTC), strictly after the instant', () => {
    expect(nextQuotaReset(new Date('2026-03-01T15:59:59.999Z')).toISOString()).toBe(
      '2026-03-01T16:00:00.000Z',
    );
    expect(nextQuotaReset(new Date('2026-03-01T16:00:00.000Z')).toISOString()).toBe(
      '2026-03-02T16:00:00.000Z',
    );
    expect(nextQuotaReset(new Date('2026-12-31T20:00:00Z')).toISOString()).toBe('2027-01-01T16:00:00.000Z');
  });
});

describe('quota client', () => {
  it('getApiQuota reads one path; quotaReport covers the token path and every API path wxsync calls', async () => {
    const client = pool.client(wx.url, captureLog().log);
    expect(await getApiQuota(client, '/cgi-bin/user/get')).toEqual({
      path: '/cgi-bin/user/get',
      dailyLimit: 500,
      used: 0,
      remain: 500,
    });
    const rows = await quotaReport(client);
    expect(rows.map((r) => r.path)).toEqual(['/cgi-bin/stable_token', ...WECHAT_API_PATHS]);
    expect(rows.every((r) => !('error' in r))).toBe(true);
    expect(quotaPaths(pool.client(wx.url, captureLog().log, { tokenApi: 'classic' }))[0]).toBe(
      '/cgi-bin/token',
    );
  });

  it('remainingQuota lists what WeChat will not report under unknown instead of failing the plan', async () => {
    const client = pool.client(wx.url, captureLog().log);
    const plan = await remainingQuota(client, ['/cgi-bin/user/get', '/cgi-bin/not/a/path']);
    expect(plan.quotas['/cgi-bin/user/get']?.remain).toBeGreaterThan(0);
    expect(Object.keys(plan.unknown)).toEqual(['/cgi-bin/not/a/path']);
    expect(plan.unknown['/cgi-bin/not/a/path']).toContain('76021');
  });

  it('45009 is a QuotaExhaustedError: not retried, errcode, rid, the next reset; clearing the path makes it work again', async () => {
    const client = pool.client(wx.url, captureLog().log);
    const openids = wx.state.followerOpenids().slice(0, 300);
    const before = wx.calls.count('user/info/batchget');
    const started = new Date();
    const error = await batchGetUserInfo(client, openids).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QuotaExhaustedError);
    expect(error).toBeInstanceOf(WeChatApiError);
    expect(isQuotaExhausted(error)).toBe(true);
    expect(isQuotaExhausted(new Error('x'))).toBe(false);
    const quota = error as QuotaExhaustedError;
    expect(quota.errcode).toBe(45009);
    expect(quota.retryable).toBe(false);
    expect(quota.code).toBe('wechat_quota');
    expect(quota.endpoint).toBe('/cgi-bin/user/info/batchget');
    expect(quota.rid).toMatch(/^[\w-]+$/);
    expect(quota.message).toContain(`rid: ${quota.rid}`);
    expect(quota.resetAt.getTime()).toBe(nextQuotaReset(started).getTime());
    expect(quota.message).toContain(quota.resetAt.toISOString());
    // Two calls within the quota, the third refused once (no retry loop).
    expect(wx.calls.count('user/info/batchget') - before).toBe(3);
    expect((await getApiQuota(client, '/cgi-bin/user/info/batchget')).remain).toBe(0);

    await clearApiQuota(client, '/cgi-bin/user/info/batchget');
    expect((await getApiQuota(client, '/cgi-bin/user/info/batchget')).remain).toBe(2);
    expect(await batchGetUserInfo(client, openids.slice(0, 100))).toHaveLength(100);
    await clearAllQuota(client);
    expect((await getApiQuota(client, '/cgi-bin/user/info/batchget')).used).toBe(0);
  });

  it('cachedQuotaReport shares one round of quota/get calls through Redis while fresh', async () => {
    const client = pool.client(wx.url, captureLog().log);
    const redis = pool.redis();
    const options = { keyPrefix: pool.prefix, maxAgeMs: 60_000 };
    const first = await cachedQuotaReport(client, redis, options);
    const calls = wx.calls.count('quota/get');
    const second = await cachedQuotaReport(pool.client(wx.url, captureLog().log), redis, options);
    expect(wx.calls.count('quota/get')).toBe(calls);
    expect(second).toEqual(first);
    await cachedQuotaReport(client, redis, { ...options, maxAgeMs: 1, now: () => Date.now() + 10 });
    expect(wx.calls.count('quota/get')).toBe(calls + quotaPaths(client).length);
  });
});
