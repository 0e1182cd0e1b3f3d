/** Daily quotas: published defaults, 45009 with WeChat's text, reset at 00:00 Beijing on the fake clock, quota/get and the two clears with their monthly limits. */
import { beforeAll, describe, expect, it } from 'vitest';
import { admin, CREDS, fakePerFile, fetchToken, getJson, postJson } from '../support/fake-wechat.ts';

const wx = fakePerFile({ followers: 30, quotas: { '/cgi-bin/user/info/batchget': 3 } });
let token: string;

beforeAll(async () => {
  // 2026-03-01 15:00 UTC = 23:00 Beijing.
  await admin(wx, 'PUT', '/clock', { now: '2026-03-01T15:00:00Z' });
  token = await fetchToken(wx);
});

const quotaGet = (cgi_path: unknown) =>
  postJson(wx, '/cgi-bin/openapi/quota/get', { cgi_path }, { access_token: token }) as Promise<{
    errcode: number;
    errmsg: string;
    quota?: { daily_limit: number; used: number; remain: number };
  }>;
const batchget = () =>
  postJson(
    wx,
    '/cgi-bin/user/info/batchget',
    { user_list: [{ openid: wx.state.followerOpenids()[0] }] },
    { access_token: token },
  ) as Promise<{ errcode?: number; errmsg?: string; user_info_list?: unknown[] }>;

describe('daily quotas', () => {
  it("has WeChat's published defaults and reports them through openapi/quota/get", async () => {
    expect(await quotaGet('/cgi-bin/user/get')).toEqual({
      errcode: 0,
      errmsg: 'ok',
      quota: { daily_limit: 500, used: 0, remain: 500 },
    });
    expect((await quotaGet('/cgi-bin/token')).quota).toEqual({ daily_limit: 2000, used: 1, remain: 1999 });
    expect((await quotaGet('/cgi-bin/user/info')).quota?.daily_limit).toBe(5_000_000);
    expect((await quotaGet('/cgi-bin/no/such')).errcode).toBe(76021);
    expect((await quotaGet(undefined)).errcode).toBe(47001);
  });

  it('answers 45009 with the real text once a limit is used up, and resets at 00:00 Beijing time', async () => {
    for (let i = 0; i < 3; i++) expect((await batchget()).user_info_list).toHaveLength(1);
    const over = await batchget();
    expect(over.errcode).toBe(45009);
    expect(over.errmsg).toMatch(/^reach max api daily quota limit rid: [\w-]+$/);
    expect(wx.calls.errcodeCount(45009)).toBe(1);
    expect((await quotaGet('/cgi-bin/user/info/batchget')).quota).toEqual({
      daily_limit: 3,
      used: 3,
      remain: 0,
    });
    // Other paths are unaffected.
    expect((await getJson(wx, '/cgi-bin/user/get', { access_token: token })) as object).toHaveProperty(
      'total',
    );
    // 23:59:59 Beijing: still exhausted; 00:00: reset.
    await admin(wx, 'PUT', '/clock', { now: '2026-03-01T15:59:59Z' });
    expect((await batchget()).errcode).toBe(45009);
    await admin(wx, 'PUT', '/clock', { advanceMs: 1000 });
    expect((await batchget()).user_info_list).toHaveLength(1);
    expect((await quotaGet('/cgi-bin/user/info/batchget')).quota).toEqual({
      daily_limit: 3,
      used: 1,
      remain: 2,
    });
  });

  it('limits and used counts are configurable per path over the admin API, also for unpublished paths', async () => {
    const res = await admin(wx, 'PUT', '/quotas', {
      limits: { '/cgi-bin/tags/members/getblacklist': 7 },
      used: { '/cgi-bin/user/get': 499 },
    });
    expect(res.status).toBe(200);
    const snap = res.body as { paths: Record<string, { daily_limit: number; remain: number }> };
    expect(snap.paths['/cgi-bin/tags/members/getblacklist']!.daily_limit).toBe(7);
    expect(snap.paths['/cgi-bin/user/get']!.remain).toBe(1);
    expect((await admin(wx, 'PUT', '/quotas', { used: { '/x/y': 1 } })).status).toBe(400);
    expect((await admin(wx, 'PUT', '/quotas', { limits: { '/cgi-bin/user/get': -1 } })).status).toBe(400);
  });

  it('openapi/quota/clear resets one path, 50 times a month; clear_quota resets all, 10 times a month', async () => {
    await admin(wx, 'PUT', '/quotas', { used: { '/cgi-bin/user/get': 500, '/cgi-bin/user/info': 9 } });
    const clearPath = (cgi_path: string) =>
      postJson(wx, '/cgi-bin/openapi/quota/clear', { cgi_path }, { access_token: token }) as Promise<{
        errcode: number;
      }>;
    expect(await clearPath('/cgi-bin/user/get')).toEqual({ errcode: 0, errmsg: 'ok' });
    expect((await quotaGet('/cgi-bin/user/get')).quota?.used).toBe(0);
    expect((await quotaGet('/cgi-bin/user/info')).quota?.used).toBe(9);
    expect((await clearPath('/cgi-bin/nope')).errcode).toBe(76021);
    for (let i = 1; i < 50; i++) expect((await clearPath('/cgi-bin/user/get')).errcode).toBe(0);
    expect((await clearPath('/cgi-bin/user/get')).errcode).toBe(48006);

    const clearAll = (appid: string) =>
      postJson(wx, '/cgi-bin/clear_quota', { appid }, { access_token: token }) as Promise<{
        errcode: number;
      }>;
    expect((await clearAll('wx9999999999999999')).errcode).toBe(40013);
    expect((await clearAll(CREDS.appId)).errcode).toBe(0);
    expect((await quotaGet('/cgi-bin/user/info')).quota?.used).toBe(0);
    for (let i = 1; i < 10; i++) expect((await clearAll(CREDS.appId)).errcode).toBe(0);
    expect((await clearAll(CREDS.appId)).errcode).toBe(48006);
    // A new Beijing month gives the allowances back (2026-04-01 00:00 Beijing = 2026-03-31 16:00 UTC).
    await admin(wx, 'PUT', '/clock', { now: '2026-03-31T16:00:00Z' });
    token = await fetchToken(wx);
    expect((await clearAll(CREDS.appId)).errcode).toBe(0);
    expect((await clearPath('/cgi-bin/user/get')).errcode).toBe(0);
  });

  it('clear_quota/v2 takes appid + appsecret (no token needed) and shares the 10 a month', async () => {
    await admin(wx, 'PUT', '/clock', { now: '2026-05-01T00:00:00Z' });
    await admin(wx, 'PUT', '/quotas', { used: { '/cgi-bin/token': 2000 } });
    const v2 = async (fields: Record<string, string>) =>
      (await (
        await fetch(`${wx.url}/cgi-bin/clear_quota/v2`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(fields),
        })
      ).json()) as { errcode: number };
    expect((await v2({ appid: CREDS.appId, appsecret: 'x'.repeat(32) })).errcode).toBe(40125);
    expect((await v2({ appid: CREDS.appId, appsecret: CREDS.appSecret })).errcode).toBe(0);
    token = await fetchToken(wx); // the token quota is back
    for (let i = 1; i < 10; i++)
      expect((await v2({ appid: CREDS.appId, appsecret: CREDS.appSecret })).errcode).toBe(0);
    expect((await v2({ appid: CREDS.appId, appsecret: CREDS.appSecret })).errcode).toBe(48006);
    await admin(wx, 'PUT', '/clock', { now: '2026-03-31T16:00:00Z' });
  });

  it('the clock is readable and validated', async () => {
    const now = (await admin(wx, 'GET', '/clock')).body as { now: string };
    expect(now.now.startsWith('2026-03-31T16:00')).toBe(true);
    expect((await admin(wx, 'PUT', '/clock', { now: 'yesterday' })).status).toBe(400);
  });
});
