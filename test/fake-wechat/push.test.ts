/** The fake as WeChat toward our /wx: signed (and encrypted) event POSTs with WeChat's retries. */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeWeChat, startFakeWeChat } from '../../src/fake-wechat/index.ts';
import { WeChatCrypto } from '../../src/wechat/crypto.ts';
import { sha1Signature } from '../../src/wechat/signature.ts';
import { parseWeChatXml } from '../../src/wechat/xml.ts';
import { TEST_WECHAT } from '../support/env.ts';
import { admin, CREDS } from '../support/fake-wechat.ts';

interface Received {
  query: URLSearchParams;
  body: string;
}

/** A stand-in for our /wx: records requests; the first `stall` requests get no answer in time. */
let received: Received[] = [];
let stall = 0;
let callback: Server;
let callbackUrl: string;
let wx: FakeWeChat;

beforeAll(async () => {
  callback = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    received.push({
      query: new URL(req.url!, 'http://x').searchParams,
      body: Buffer.concat(chunks).toString('utf8'),
    });
    if (received.length <= stall) {
      setTimeout(() => res.end('success'), 5000).unref();
      return;
    }
    res.end('success');
  });
  callback.listen(0, '127.0.0.1');
  await once(callback, 'listening');
  callbackUrl = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/wx`;
  wx = await startFakeWeChat({
    ...CREDS,
    followers: 20,
    callbackUrl,
    token: TEST_WECHAT.WECHAT_TOKEN,
    encodingAesKey: TEST_WECHAT.WECHAT_ENCODING_AES_KEY,
    push: { timeoutMs: 1000 },
  });
});
afterAll(async () => {
  await wx.close();
  callback.closeAllConnections();
  callback.close();
});
beforeEach(() => {
  received = [];
  stall = 0;
  wx.push.configure({ mode: 'plain', retries: 3, timeoutMs: 1000 });
});

function checkSignature(query: URLSearchParams): void {
  const timestamp = query.get('timestamp')!;
  const nonce = query.get('nonce')!;
  expect(query.get('signature')).toBe(sha1Signature(TEST_WECHAT.WECHAT_TOKEN, timestamp, nonce));
}

describe('push', () => {
  it('a new follower: created in the state, subscribe event POSTed in plaintext with a valid signature', async () => {
    const result = await wx.push.newFollower({ qrScene: 1234 });
    expect(result.ok).toBe(true);
    expect(result.attempts).toHaveLength(1);
    expect(wx.state.followerOpenids().at(-1)).toBe(result.openid);
    expect(received).toHaveLength(1);
    const [req] = received;
    checkSignature(req!.query);
    expect(req!.query.get('openid')).toBe(result.openid);
    const xml = parseWeChatXml(req!.body);
    expect(xml).toMatchObject({
      ToUserName: wx.state.originalId,
      FromUserName: result.openid,
      MsgType: 'event',
      Event: 'subscribe',
      EventKey: 'qrscene_1234',
      CreateTime: String(result.createTime),
    });
    expect(xml.Ticket).toBeTruthy();
  });

  it('safe mode: only ToUserName + Encrypt, msg_signature over the ciphertext, decrypts to the event', async () => {
    wx.push.configure({ mode: 'safe' });
    const openid = wx.state.followerOpenids()[3]!;
    const result = await wx.push.unsubscribe(openid);
    expect(result.ok).toBe(true);
    expect(wx.state.followerOpenids()).not.toContain(openid);
    const [req] = received;
    checkSignature(req!.query);
    expect(req!.query.get('encrypt_type')).toBe('aes');
    const outer = parseWeChatXml(req!.body);
    expect(Object.keys(outer).sort()).toEqual(['Encrypt', 'ToUserName']);
    const { timestamp, nonce } = Object.fromEntries(req!.query) as Record<string, string>;
    expect(req!.query.get('msg_signature')).toBe(
      sha1Signature(TEST_WECHAT.WECHAT_TOKEN, timestamp!, nonce!, outer.Encrypt!),
    );
    const inner = parseWeChatXml(
      new WeChatCrypto(TEST_WECHAT.WECHAT_ENCODING_AES_KEY, CREDS.appId).decrypt(outer.Encrypt!),
    );
    expect(inner).toMatchObject({ FromUserName: openid, MsgType: 'event', Event: 'unsubscribe' });
  });

  it('compatible mode: plaintext fields and Encrypt side by side', async () => {
    wx.push.configure({ mode: 'compat' });
    const openid = wx.state.followerOpenids()[4]!;
    await wx.push.text(openid, '你好 <world> ]]> 😀');
    const outer = parseWeChatXml(received[0]!.body);
    expect(outer).toMatchObject({ FromUserName: openid, MsgType: 'text', Content: '你好 <world> ]]> 😀' });
    expect(outer.MsgId).toMatch(/^\d+$/);
    const inner = parseWeChatXml(
      new WeChatCrypto(TEST_WECHAT.WECHAT_ENCODING_AES_KEY, CREDS.appId).decrypt(outer.Encrypt!),
    );
    expect(inner.Content).toBe('你好 <world> ]]> 😀');
  });

  it('retries the identical message when no answer comes in time', async () => {
    stall = 2;
    const result = await wx.push.subscribe(wx.state.followerOpenids()[5]!);
    expect(result.ok).toBe(true);
    expect(result.attempts.map((a) => a.error ?? a.status)).toEqual(['timeout', 'timeout', 200]);
    expect(received).toHaveLength(3);
    expect(new Set(received.map((r) => `${r.query}|${r.body}`)).size).toBe(1);
  });

  it('gives up after 3 retries (4 attempts)', async () => {
    stall = 10;
    const result = await wx.push.subscribe(wx.state.followerOpenids()[6]!);
    expect(result.ok).toBe(false);
    expect(result.attempts).toHaveLength(4);
    expect(received).toHaveLength(4);
  });

  it('works over the admin route, without exposing the token or key', async () => {
    const described = (await admin(wx, 'GET', '/push')).body;
    expect(JSON.stringify(described)).not.toContain(TEST_WECHAT.WECHAT_TOKEN);
    expect(JSON.stringify(described)).not.toContain(TEST_WECHAT.WECHAT_ENCODING_AES_KEY);
    expect(described).toMatchObject({ callbackUrl, hasToken: true, hasAesKey: true });
    const res = await admin(wx, 'POST', '/push', { event: 'subscribe' });
    expect(res.status).toBe(200);
    const body = res.body as { ok: boolean; openid: string };
    expect(body.ok).toBe(true);
    expect(wx.state.profile(body.openid).subscribe).toBe(1);
    expect(parseWeChatXml(received[0]!.body).Event).toBe('subscribe');
    expect((await admin(wx, 'POST', '/push', { event: 'text' })).status).toBe(400);
  });
});
