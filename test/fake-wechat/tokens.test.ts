/** access_token lifecycle: expiry, the overlap after a refresh, forced expiry (now and periodic). */
import { describe, expect, it } from 'vitest';
import { ErrorEnvelope } from '../../src/wechat/schemas.ts';
import { admin, fakePerFile, fetchToken, getJson } from '../support/fake-wechat.ts';

let clock = Date.now();
const wx = fakePerFile({ followers: 10, tokenTtlS: 7200, tokenOverlapS: 30, now: () => clock });

async function works(token: string): Promise<boolean | number> {
  const body = (await getJson(wx, '/cgi-bin/get_api_domain_ip', { access_token: token })) as object;
  return 'ip_list' in body ? true : ErrorEnvelope.parse(body).errcode;
}

describe('tokens', () => {
  it('keeps the previous token valid for the overlap only, then answers 40001', async () => {
    const first = await fetchToken(wx);
    expect(await works(first)).toBe(true);
    const second = await fetchToken(wx);
    expect(second).not.toBe(first);
    clock += 29_000;
    expect(await works(first)).toBe(true);
    clock += 2_000;
    expect(await works(first)).toBe(40001);
    expect(await works(second)).toBe(true);
  });

  it('expires a token after expires_in', async () => {
    const token = await fetchToken(wx);
    clock += 7_199_000;
    expect(await works(token)).toBe(true);
    clock += 2_000;
    expect(await works(token)).toBe(40001);
  });

  it('forced expiry (admin route) invalidates the current token at once', async () => {
    const token = await fetchToken(wx);
    expect(await works(token)).toBe(true);
    expect((await admin(wx, 'POST', '/token/expire')).status).toBe(200);
    expect(await works(token)).toBe(40001);
    const fresh = await fetchToken(wx);
    expect(await works(fresh)).toBe(true);
  });

  it('periodic forced expiry, set at run time', async () => {
    const token = await fetchToken(wx);
    await admin(wx, 'PUT', '/token/expire-every', { seconds: 60 });
    clock += 59_000;
    expect(await works(token)).toBe(true);
    clock += 2_000;
    expect(await works(token)).toBe(40001);
    const fresh = await fetchToken(wx);
    expect(await works(fresh)).toBe(true);
    await admin(wx, 'PUT', '/token/expire-every', { seconds: null });
    clock += 600_000;
    expect(await works(fresh)).toBe(true);
  });

  it('counts token fetches', async () => {
    wx.calls.reset();
    await Promise.all([fetchToken(wx), fetchToken(wx)]);
    expect(wx.calls.count('token')).toBe(2);
    expect((await admin(wx, 'GET', '/calls')).body).toMatchObject({ counts: { token: 2 } });
    await admin(wx, 'DELETE', '/calls');
    expect(wx.calls.count('token')).toBe(0);
  });
});
