/** Builds pushes the way WeChat does (signed query, optional safe-mode envelope) for /wx tests. */
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config.ts';
import { WeChatCrypto } from '../../src/wechat/crypto.ts';
import { sha1Signature } from '../../src/wechat/signature.ts';
import { buildXml } from '../../src/wechat/xml.ts';
import { TEST_WECHAT } from './env.ts';

export const TOKEN = TEST_WECHAT.WECHAT_TOKEN;
export const crypto = new WeChatCrypto(TEST_WECHAT.WECHAT_ENCODING_AES_KEY, TEST_WECHAT.WECHAT_APP_ID);

/**
 * A valid configuration for in-process apps. The account is in compatible mode (both plaintext
 * and safe-mode pushes accepted) so one app serves every kind of push; the mode rules themselves
 * are tested with apps that set WX_MESSAGE_MODE (or leave it to its default).
 */
export function testConfig(overrides: Record<string, string> = {}) {
  return loadConfig({
    ...TEST_WECHAT,
    DATABASE_URL: 'postgresql://root@127.0.0.1:5432/unused',
    LOG_LEVEL: 'silent',
    WX_MESSAGE_MODE: 'compatible',
    ...overrides,
  });
}

export const nowS = () => Math.floor(Date.now() / 1000);

let counter = 0;
/** A subscribe event (unique CreateTime per call unless given). */
export function subscribeXml(openid: string, extra: Record<string, string | number> = {}): string {
  return buildXml({
    ToUserName: 'gh_0123456789ab',
    FromUserName: openid,
    CreateTime: nowS() - 1000 + counter++,
    MsgType: 'event',
    Event: 'subscribe',
    ...extra,
  });
}

export function textXml(openid: string, msgId: string, content: string): string {
  // Raw, because MsgId is a bare 64-bit number that a JS number could not carry.
  return `<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><FromUserName><![CDATA[${openid}]]></FromUserName><CreateTime>${nowS()}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[${content}]]></Content><MsgId>${msgId}</MsgId></xml>`;
}

export interface Signed {
  query: string;
  timestamp: string;
  nonce: string;
}

/** Plaintext-mode query string: signature over [token, timestamp, nonce]. */
export function plainQuery(opts: { timestamp?: number; token?: string; openid?: string } = {}): Signed {
  const timestamp = String(opts.timestamp ?? nowS());
  const nonce = String(randomBytes(4).readUInt32BE(0));
  const signature = sha1Signature(opts.token ?? TOKEN, timestamp, nonce);
  const q = new URLSearchParams({ signature, timestamp, nonce, openid: opts.openid ?? 'o-test' });
  return { query: q.toString(), timestamp, nonce };
}

/** Safe-mode push: body `<xml><ToUserName/><Encrypt/></xml>`, query with msg_signature. */
export function aesPush(
  innerXml: string,
  opts: { crypto?: WeChatCrypto; compatible?: boolean; timestamp?: number } = {},
): { query: string; body: string } {
  const encrypted = (opts.crypto ?? crypto).encrypt(innerXml);
  const timestamp = String(opts.timestamp ?? nowS());
  const nonce = String(randomBytes(4).readUInt32BE(0));
  const q = new URLSearchParams({
    signature: sha1Signature(TOKEN, timestamp, nonce),
    timestamp,
    nonce,
    openid: 'o-test',
    encrypt_type: 'aes',
    msg_signature: sha1Signature(TOKEN, timestamp, nonce, encrypted),
  });
  const body = opts.compatible
    ? innerXml.replace('</xml>', `<Encrypt><![CDATA[${encrypted}]]></Encrypt></xml>`)
    : buildXml({ ToUserName: 'gh_0123456789ab', Encrypt: encrypted });
  return { query: q.toString(), body };
}
