/** stable_token as documented: one token while valid, renewal overlap, force_refresh limits, isolation from /cgi-bin/token. */
import { describe, expect, it } from 'vitest';
import { ErrorEnvelope } from '../../src/wechat/schemas.ts';
import { admin, CREDS, fakePerFile, fetchToken, getJson, postJson } from '../support/fake-wechat.ts';

let clock = Date.parse('2026-03-01T04:00:00Z');
const wx = fakePerFile({ followers: 10, tokenTtlS: 7200, now: () => clock });

async function works(token: string): Promise<boolean | number> {
  const body = (await getJson(wx, '/cgi-bin/get_api_domain_ip', { access_token: token })) as object;
  return 'ip_list' in body ? true : ErrorEnvelope.parse(body).errcode;
}

async function stable(
  force?: boolean,
): Promise<{ access_token?: string; expires_in?: number; errcode?: number; errmsg?: string }> {
  return (await postJson(wx, '/cgi-bin/stable_token', {
    grant_type: 'client_credential',
    appid: CREDS.appId,
    secret: CREDS.appSecret,
    ...(force === undefined ? {} : { force_refresh: force }),
  })) as { access_token?: string; expires_in?: number; errcode?: number };
}

describe('stable_token', () => {
  it('normal mode: every caller gets the same token while it is valid, expires_in counting down', async () => {
    const a = await stable();
    const b = await stable(false);
    expect(a.access_token).toBeTruthy();
    expect(b.access_token).toBe(a.access_token);
    expect(a.expires_in).toBe(7200);
    clock += 1000 * 1000;
    const c = await stable();
    expect(c.access_token).toBe(a.access_token);
    expect(c.expires_in).toBe(6200);
    expect(await works(a.access_token!)).toBe(true);
  });

  it('renews 5 minutes before expiry; old and new both work during the overlap; expires_in >= 300', async () => {
    const first = (await stable()).access_token!;
    const left = (await stable()).expires_in!;
    clock += (left - 301) * 1000;
    const still = await stable();
    expect(still.access_token).toBe(first);
    expect(still.expires_in).toBeGreaterThanOrEqual(300);
    clock += 2000; // now inside the last 5 minutes
    const renewed = await stable();
    expect(renewed.access_token).not.toBe(first);
    expect(renewed.expires_in).toBe(7200);
    expect(await works(first)).toBe(true);
    expect(await works(renewed.access_token!)).toBe(true);
    expect((await stable()).access_token).toBe(renewed.access_token);
    clock += 300_000; // the old one's own expiry
    expect(await works(first)).toBe(40001);
    expect(await works(renewed.access_token!)).toBe(true);
  });

  it('stable and classic tokens are isolated: fetching one kind never invalidates the other', async () => {
    const s = (await stable()).access_token!;
    const c1 = await fetchToken(wx);
    for (let i = 0; i < 5; i++) await fetchToken(wx);
    expect(await works(s)).toBe(true);
    expect((await stable()).access_token).toBe(s);
    clock += 301_000; // past the classic overlap: c1 was superseded five times
    expect(await works(c1)).toBe(40001);
    const c2 = await fetchToken(wx);
    await stable(true);
    expect(await works(c2)).toBe(true);
  });

  it('force_refresh invalidates the previous stable token at once; within 30 s it does not refresh; 20 a day (45009); reset at 00:00 Beijing', async () => {
    clock = Date.parse('2026-03-02T00:00:00Z'); // 08:00 Beijing: a fresh Beijing day for the count
    const before = (await stable()).access_token!;
    clock += 31_000;
    const forced = await stable(true);
    expect(forced.access_token).not.toBe(before);
    expect(await works(before)).toBe(40001);
    expect(await works(forced.access_token!)).toBe(true);
    expect((await stable()).access_token).toBe(forced.access_token);

    // "否则不会刷新": under 30 s after the last forced refresh, the current token comes back unrefreshed.
    clock += 29_000;
    const tooSoon = await stable(true);
    expect(tooSoon.errcode).toBeUndefined();
    expect(tooSoon.access_token).toBe(forced.access_token);
    expect(await works(forced.access_token!)).toBe(true);

    let done = 1;
    while (done < 20) {
      clock += 30_000;
      expect((await stable(true)).access_token).toBeTruthy();
      done++;
    }
    clock += 30_000;
    const daily = await stable(true);
    expect(daily.errcode).toBe(45009);
    expect(daily.errmsg).toMatch(/^reach max api daily quota limit rid: /);
    // 00:00 Beijing = 16:00 UTC: the allowance is back.
    clock = Date.parse('2026-03-02T16:00:00Z');
    expect((await stable(true)).access_token).toBeTruthy();
  });

  it('checks credentials and the body like WeChat', async () => {
    expect(
      (await postJson(wx, '/cgi-bin/stable_token', {
        grant_type: 'client_credential',
        appid: CREDS.appId,
        secret: 'x'.repeat(32),
      })) as object,
    ).toMatchObject({ errcode: 40125 });
    expect(
      (await postJson(wx, '/cgi-bin/stable_token', {
        grant_type: 'client_credential',
        appid: 'wx9999999999999999',
        secret: CREDS.appSecret,
      })) as object,
    ).toMatchObject({ errcode: 40013 });
    expect(
      (await postJson(wx, '/cgi-bin/stable_token', {
        grant_type: 'password',
        appid: CREDS.appId,
        secret: CREDS.appSecret,
      })) as object,
    ).toMatchObject({ errcode: 40002 });
    expect((await postJson(wx, '/cgi-bin/stable_token', '')) as object).toMatchObject({ errcode: 44002 });
  });

  it('poison-stable: stable_token keeps returning a token the APIs refuse until a forced refresh', async () => {
    clock += 60_000;
    const token = (await stable()).access_token!;
    expect((await admin(wx, 'POST', '/token/poison-stable')).body).toEqual({ poisoned: true });
    expect(await works(token)).toBe(40001);
    expect((await stable()).access_token).toBe(token);
    const forced = (await stable(true)).access_token!;
    expect(await works(forced)).toBe(true);
  });
});

describe('another system on the same appid', () => {
  it('fetches classic, stable or forced tokens every N seconds through the platform routes', async () => {
    clock = Date.now();
    wx.calls.reset();
    const put = (kind: string, everyS: number | null) => admin(wx, 'PUT', '/other-system', { kind, everyS });
    expect((await put('classic', 0.05)).status).toBe(200);
    await put('stable', 0.05);
    await new Promise((r) => setTimeout(r, 400));
    const snap = (await admin(wx, 'GET', '/other-system')).body as Record<string, { fetched: number }>;
    expect(snap.classic!.fetched).toBeGreaterThan(2);
    expect(snap.stable!.fetched).toBeGreaterThan(2);
    expect(wx.calls.count('token')).toBeGreaterThan(2);
    expect(wx.calls.count('stable_token')).toBeGreaterThan(2);
    await put('classic', null);
    expect(Object.keys((await admin(wx, 'GET', '/other-system')).body as object)).toEqual(['stable']);
    expect((await admin(wx, 'DELETE', '/other-system')).status).toBe(200);
    const stopped = wx.calls.count('stable_token');
    await new Promise((r) => setTimeout(r, 150));
    expect(wx.calls.count('stable_token')).toBe(stopped);
    // One forced fetch on demand knocks out the stable token.
    const mine = (await stable()).access_token!;
    clock += 31_000;
    expect((await admin(wx, 'POST', '/other-system/force')).body).toEqual({ errcode: 0 });
    expect(await works(mine)).toBe(40001);
    expect(wx.calls.errcodeCount(40001)).toBe(1);
    expect((await admin(wx, 'PUT', '/other-system', { kind: 'nope', everyS: 1 })).status).toBe(400);
  });
});
