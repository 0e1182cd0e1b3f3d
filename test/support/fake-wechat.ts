/** Fakes set up as the test account, and plain HTTP calls to a fake's API and admin routes. */
import { type FakeWeChat, type FakeWeChatOptions, startFakeWeChat } from '../../src/fake-wechat/index.ts';
import { TEST_WECHAT } from './env.ts';
import { perFile } from './per-file.ts';

/** Made-up credentials every fake in these tests accepts. */
export const CREDS = { appId: TEST_WECHAT.WECHAT_APP_ID, appSecret: TEST_WECHAT.WECHAT_APP_SECRET };

/** A fake platform with the test credentials, over real HTTP for the tests of this file. */
export const fakePerFile = (options: FakeWeChatOptions = {}): FakeWeChat =>
  perFile(() => startFakeWeChat({ ...CREDS, ...options }));

/** The fake platform over real HTTP, pushing to /wx as the test account (its Token and EncodingAESKey). */
export function startAccountFake(options: FakeWeChatOptions = {}): Promise<FakeWeChat> {
  return startFakeWeChat({
    token: TEST_WECHAT.WECHAT_TOKEN,
    encodingAesKey: TEST_WECHAT.WECHAT_ENCODING_AES_KEY,
    ...options,
  });
}

export async function fetchToken(wx: Pick<FakeWeChat, 'url'>): Promise<string> {
  const body = (await getJson(wx, '/cgi-bin/token', {
    grant_type: 'client_credential',
    appid: CREDS.appId,
    secret: CREDS.appSecret,
  })) as { access_token: string };
  if (!body.access_token) throw new Error(`no token: ${JSON.stringify(body)}`);
  return body.access_token;
}

export async function getJson(
  wx: Pick<FakeWeChat, 'url'>,
  path: string,
  query: Record<string, string> = {},
): Promise<unknown> {
  const response = await fetch(`${wx.url}${path}?${new URLSearchParams(query)}`);
  return response.json();
}

export async function postJson(
  wx: Pick<FakeWeChat, 'url'>,
  path: string,
  body: unknown,
  query: Record<string, string> = {},
): Promise<unknown> {
  const response = await fetch(`${wx.url}${path}?${new URLSearchParams(query)}`, {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return response.json();
}

export async function admin(
  wx: Pick<FakeWeChat, 'url'>,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${wx.url}/__fake${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}
