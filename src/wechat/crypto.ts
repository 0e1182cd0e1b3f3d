/**
 * WeChat's safe-mode ("安全模式") message crypto, shared by the /wx server and the fake platform.
 *
 * - key = base64decode(EncodingAESKey + "="): 43 characters become 32 bytes (AES-256).
 * - AES-256-CBC with IV = the first 16 bytes of the key (WeChat's choice, not ours).
 * - Plaintext = 16 random bytes + uint32 big-endian byte length of the message + message (UTF-8)
 *   + appid, padded PKCS#7-style to a 32-byte block (a whole block of 32 when already aligned):
 *   WeChat pads to 32, not to AES's 16, so Node's automatic padding cannot be used.
 * - The trailing appid must be ours: it is what binds a ciphertext to this account.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { errorFamily } from '../errors.ts';
import { sha1Signature } from './signature.ts';
import { buildXml } from './xml.ts';

const BLOCK = 32;

/** A ciphertext that does not decrypt to a well-formed message for our appid. */
export class WeChatCryptoError extends errorFamily(400, false, 'bad_ciphertext') {}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class WeChatCrypto {
  readonly #key: Buffer;
  readonly #iv: Buffer;
  readonly #appId: Buffer;

  constructor(encodingAesKey: string, appId: string) {
    // Checked here too (not only by the config schema) because the fake platform builds its own.
    if (!/^[0-9a-zA-Z]{43}$/.test(encodingAesKey)) {
      throw new WeChatCryptoError('EncodingAESKey must be 43 letters or digits');
    }
    this.#key = Buffer.from(`${encodingAesKey}=`, 'base64');
    this.#iv = this.#key.subarray(0, 16);
    this.#appId = Buffer.from(appId, 'utf8');
  }

  /** Encrypts `message` for this appid; `random16` fixes the random prefix (test vectors only). */
  encrypt(message: string, random16: Buffer = randomBytes(16)): string {
    if (random16.length !== 16) throw new WeChatCryptoError('the random prefix must be 16 bytes');
    const body = Buffer.from(message, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(body.length, 0);
    const plain = Buffer.concat([random16, length, body, this.#appId]);
    const pad = BLOCK - (plain.length % BLOCK);
    const cipher = createCipheriv('aes-256-cbc', this.#key, this.#iv).setAutoPadding(false);
    return Buffer.concat([
      cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])),
      cipher.final(),
    ]).toString('base64');
  }

  /** Decrypts a base64 `Encrypt` value; throws WeChatCryptoError unless it is a message for our appid. */
  decrypt(base64: string): string {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) throw new WeChatCryptoError('ciphertext is not base64');
    const data = Buffer.from(base64, 'base64');
    if (data.length === 0 || data.length % 16 !== 0) {
      throw new WeChatCryptoError('ciphertext length is not a whole number of AES blocks');
    }
    let plain: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-cbc', this.#key, this.#iv).setAutoPadding(false);
      plain = Buffer.concat([decipher.update(data), decipher.final()]);
    } catch {
      throw new WeChatCryptoError('ciphertext does not decrypt');
    }
    const pad = plain[plain.length - 1] ?? 0;
    if (
      pad < 1 ||
      pad > BLOCK ||
      pad > plain.length ||
      !plain.subarray(plain.length - pad).every((b) => b === pad)
    ) {
      throw new WeChatCryptoError('bad padding (wrong EncodingAESKey?)');
    }
    const content = plain.subarray(0, plain.length - pad);
    if (content.length < 20) throw new WeChatCryptoError('decrypted message is too short');
    const length = content.readUInt32BE(16);
    if (20 + length > content.length) throw new WeChatCryptoError('decrypted length field is out of range');
    const appId = content.subarray(20 + length);
    if (!appId.equals(this.#appId)) throw new WeChatCryptoError('ciphertext is for another appid');
    try {
      return utf8.decode(content.subarray(20, 20 + length));
    } catch {
      throw new WeChatCryptoError('decrypted message is not UTF-8');
    }
  }
}

/**
 * The encrypted passive reply WeChat expects in safe mode:
 * `<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>`, TimeStamp in seconds (not ms),
 * MsgSignature = sha1(sort([token, timestamp, nonce, Encrypt])).
 */
export function encryptedReply(
  crypto: WeChatCrypto,
  token: string,
  replyXml: string,
  options: { timestamp?: number; nonce?: string; random16?: Buffer } = {},
): string {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const nonce = options.nonce ?? randomBytes(8).readUInt32BE(0).toString();
  const encrypted = crypto.encrypt(replyXml, options.random16);
  return buildXml({
    Encrypt: encrypted,
    MsgSignature: sha1Signature(token, String(timestamp), nonce, encrypted),
    TimeStamp: timestamp,
    Nonce: nonce,
  });
}
