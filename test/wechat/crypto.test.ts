import { describe, expect, it } from 'vitest';
import { encryptedReply, WeChatCrypto, WeChatCryptoError } from '../../src/wechat/crypto.ts';
import { sha1Signature } from '../../src/wechat/signature.ts';
import { parseWeChatXml } from '../../src/wechat/xml.ts';

// WxJava's public crypto test vector (see shared notes): not a real account's values.
const VECTOR = {
  aesKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
  appId: 'wxb11529c136998cb6',
  random: Buffer.from('aaaabbbbccccdddd', 'utf8'),
  message: '我是中文abcd123',
  encrypted: 'jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==',
};

describe('WeChatCrypto', () => {
  const crypto = new WeChatCrypto(VECTOR.aesKey, VECTOR.appId);

  it('encrypts the WxJava vector to the published ciphertext', () => {
    expect(crypto.encrypt(VECTOR.message, VECTOR.random)).toBe(VECTOR.encrypted);
  });

  it('decrypts the published ciphertext to the documented message', () => {
    expect(crypto.decrypt(VECTOR.encrypted)).toBe(VECTOR.message);
  });

  it('round-trips with a random prefix, including emoji and a block-aligned plaintext', () => {
    const xml = '<xml><Content><![CDATA[hello 👋]]></Content></xml>';
    const a = crypto.encrypt(xml);
    const b = crypto.encrypt(xml);
    expect(a).not.toBe(b); // random prefix
    expect(crypto.decrypt(a)).toBe(xml);
    // 16 + 4 + 12 + 18 (appid) = 50... pick a length so plaintext is exactly 64 bytes: a full pad block.
    const aligned = 'x'.repeat(64 - 16 - 4 - VECTOR.appId.length);
    const enc = crypto.encrypt(aligned);
    expect(Buffer.from(enc, 'base64').length).toBe(96); // 64 + a whole 32-byte padding block
    expect(crypto.decrypt(enc)).toBe(aligned);
    expect(crypto.decrypt(crypto.encrypt(''))).toBe('');
  });

  it('rejects a ciphertext made for another appid', () => {
    const other = new WeChatCrypto(VECTOR.aesKey, 'wx0000000000000000');
    expect(() => crypto.decrypt(other.encrypt('<xml/>'))).toThrow(/another appid/);
    expect(() => crypto.decrypt(other.encrypt('<xml/>'))).toThrow(WeChatCryptoError);
  });

  it('rejects a ciphertext under another key, garbage, truncation and non-base64', () => {
    const otherKey = new WeChatCrypto('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefg', VECTOR.appId);
    expect(() => crypto.decrypt(otherKey.encrypt('<xml/>'))).toThrow(WeChatCryptoError);
    expect(() => crypto.decrypt(VECTOR.encrypted.slice(0, 20))).toThrow(WeChatCryptoError);
    expect(() => crypto.decrypt('not base64 at all!')).toThrow(WeChatCryptoError);
    expect(() => crypto.decrypt('')).toThrow(WeChatCryptoError);
    expect(() => crypto.decrypt(Buffer.alloc(32, 7).toString('base64'))).toThrow(WeChatCryptoError);
  });

  it('rejects a malformed EncodingAESKey', () => {
    expect(() => new WeChatCrypto('short', VECTOR.appId)).toThrow(WeChatCryptoError);
  });

  it('builds an encrypted passive reply WeChat can verify and decrypt', () => {
    const reply = encryptedReply(crypto, 'testtoken123', '<xml><Content>hi</Content></xml>', {
      timestamp: 1700000000,
      nonce: '12345',
    });
    const fields = parseWeChatXml(reply);
    expect(fields.TimeStamp).toBe('1700000000'); // seconds
    expect(fields.Nonce).toBe('12345');
    expect(fields.MsgSignature).toBe(
      sha1Signature('testtoken123', '1700000000', '12345', fields.Encrypt ?? ''),
    );
    expect(crypto.decrypt(fields.Encrypt ?? '')).toBe('<xml><Content>hi</Content></xml>');
    expect(reply).toMatch(/<TimeStamp>1700000000<\/TimeStamp>/); // bare number, not CDATA
  });
});
