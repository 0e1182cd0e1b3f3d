/** createFakeWeChat / createFakeWeChatApp without a server: app.request() in-process. */
import { describe, expect, it } from 'vitest';
import { createFakeWeChat, createFakeWeChatApp, FakeState } from '../../src/fake-wechat/index.ts';
import { OpenidPage, TokenResponse } from '../../src/wechat/schemas.ts';
import { CREDS } from '../support/fake-wechat.ts';

const tokenPath = `/cgi-bin/token?${new URLSearchParams({ grant_type: 'client_credential', appid: CREDS.appId, secret: CREDS.appSecret })}`;

describe('in-process', () => {
  it('createFakeWeChatApp(state) answers WeChat routes and admin routes', async () => {
    const state = new FakeState({ ...CREDS, followers: 12 });
    const app = createFakeWeChatApp(state);
    const { access_token } = TokenResponse.parse(await (await app.request(tokenPath)).json());
    const page = OpenidPage.parse(
      await (await app.request(`/cgi-bin/user/get?access_token=${access_token}`)).json(),
    );
    expect(page.data!.openid).toEqual(state.followerOpenids());
    expect(await (await app.request('/__fake/state')).json()).toMatchObject({
      followers: 12,
      tokensIssued: 1,
    });
    expect((await app.request('/nowhere')).status).toBe(404);
  });

  it('a dropped connection fails the body read in-process too', async () => {
    const wx = createFakeWeChat({ ...CREDS, followers: 3, faults: { rules: { token: { dropRate: 1 } } } });
    const response = await wx.app.request(tokenPath);
    await expect(response.text()).rejects.toThrow();
    expect(wx.calls.count('token')).toBe(1);
  });

  it('latencyMs installs a * latency rule', () => {
    const wx = createFakeWeChat({ followers: 1, latencyMs: 25 });
    expect(wx.faults.effective('user/get').latencyMs).toBe(25);
    expect(wx.faults.decide('user/get').delayMs).toBe(25);
  });
});
