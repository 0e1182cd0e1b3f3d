/**
 * The fake platform acting as WeChat toward our callback URL (/wx): builds the event XML, signs the
 * query (signature = sha1(sort(token, timestamp, nonce))), in safe/compatible mode encrypts with
 * the account's EncodingAESKey and adds msg_signature, and POSTs with WeChat's retry behaviour:
 * no answer within 5 s (configurable) -> the same message again, up to 3 retries.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { InputError } from '../errors.ts';
import { WeChatCrypto } from '../wechat/crypto.ts';
import { sha1Signature } from '../wechat/signature.ts';
import { buildXml } from '../wechat/xml.ts';
import type { FakeState } from './state.ts';

export const PushMode = z.enum(['plain', 'compat', 'safe']);
export type PushMode = z.infer<typeof PushMode>;

export const PushConfig = z.object({
  /** Our server's callback URL, e.g. http://127.0.0.1:3000/wx. */
  callbackUrl: z.string().url().optional(),
  /** The account's Token (signs the query). */
  token: z.string().optional(),
  /** The account's EncodingAESKey (safe and compatible modes). */
  encodingAesKey: z.string().optional(),
  mode: PushMode.default('plain'),
  /** WeChat waits 5 s for an answer before retrying. */
  timeoutMs: z.number().int().positive().default(5000),
  /** Retries after the first attempt (WeChat: 3). */
  retries: z.number().int().min(0).default(3),
});
export type PushConfig = z.infer<typeof PushConfig>;
export type PushConfigInput = z.input<typeof PushConfig>;

export interface PushAttempt {
  /** HTTP status, or undefined when the attempt timed out or failed to connect. */
  status?: number;
  error?: string;
}

export interface PushResult {
  /** A 2xx answer arrived. */
  ok: boolean;
  attempts: PushAttempt[];
  status?: number;
  /** The body of the answer (e.g. "success", "", or an encrypted reply). */
  body?: string;
  /** The plaintext message XML that was sent (before encryption). */
  xml: string;
  /** The openid the event was about (FromUserName). */
  openid: string;
  createTime: number;
}

export interface EventOptions {
  /** Also apply the change to the fake's state (default true), so user/get agrees with the event. */
  applyToState?: boolean;
  /** Parametric QR code: EventKey qrscene_<scene> and a Ticket (subscribe), or EventKey <scene> (SCAN). */
  qrScene?: string | number;
  createTime?: number;
}

export class Pusher {
  private config: PushConfig;

  constructor(
    private readonly state: FakeState,
    config: PushConfigInput = {},
  ) {
    this.config = PushConfig.parse(config);
  }

  /** Changes the callback URL, credentials, mode, timeout or retries. */
  configure(patch: PushConfigInput): void {
    const parsed = PushConfig.safeParse({ ...this.config, ...patch });
    if (!parsed.success) throw new InputError(`invalid push configuration: ${z.prettifyError(parsed.error)}`);
    this.config = parsed.data;
  }

  /** The configuration without its secrets (safe to print or return over the admin route). */
  describe(): Omit<PushConfig, 'token' | 'encodingAesKey'> & { hasToken: boolean; hasAesKey: boolean } {
    const { token, encodingAesKey, ...rest } = this.config;
    return { ...rest, hasToken: Boolean(token), hasAesKey: Boolean(encodingAesKey) };
  }

  /** Creates a brand-new follower in the state and pushes its subscribe event. */
  async newFollower(options: Omit<EventOptions, 'applyToState'> = {}): Promise<PushResult> {
    const [openid] = this.state.addFollowers(1);
    return this.subscribe(openid!, { ...options, applyToState: false });
  }

  async subscribe(openid: string, options: EventOptions = {}): Promise<PushResult> {
    if (options.applyToState ?? true) this.state.resubscribe(openid);
    const scene = options.qrScene;
    const extra: Record<string, string> =
      scene === undefined
        ? { EventKey: '' }
        : { EventKey: `qrscene_${scene}`, Ticket: randomBytes(24).toString('base64url') };
    return this.send(openid, { MsgType: 'event', Event: 'subscribe', ...extra }, options.createTime);
  }

  async unsubscribe(openid: string, options: EventOptions = {}): Promise<PushResult> {
    if (options.applyToState ?? true) this.state.unsubscribe(openid);
    return this.send(openid, { MsgType: 'event', Event: 'unsubscribe', EventKey: '' }, options.createTime);
  }

  /** An already-following user scanned a parametric QR code. */
  async scan(openid: string, scene: string | number, options: EventOptions = {}): Promise<PushResult> {
    return this.send(
      openid,
      {
        MsgType: 'event',
        Event: 'SCAN',
        EventKey: String(scene),
        Ticket: randomBytes(24).toString('base64url'),
      },
      options.createTime,
    );
  }

  async text(
    openid: string,
    content: string,
    options: { msgId?: string; createTime?: number } = {},
  ): Promise<PushResult> {
    const msgId = options.msgId ?? BigInt.asUintN(63, randomBytes(8).readBigUInt64BE()).toString();
    return this.send(openid, { MsgType: 'text', Content: content, MsgId: msgId }, options.createTime);
  }

  /**
   * Builds the request WeChat would send for a message, signed (and encrypted in safe/compatible
   * mode), without sending it: `send` delivers it, the ingest benchmark pre-builds thousands.
   */
  build(
    openid: string,
    fields: Record<string, string | number>,
    createTime?: number,
  ): { url: string; body: string; xml: string; createTime: number } {
    const { callbackUrl, token, encodingAesKey, mode } = this.config;
    if (!callbackUrl || !token)
      throw new InputError('push needs callbackUrl and token (configure them first)');
    const created = createTime ?? Math.floor(this.state.options.now() / 1000);
    const xml = buildXml({
      ToUserName: this.state.originalId,
      FromUserName: openid,
      CreateTime: created,
      ...fields,
    });
    const timestamp = String(created);
    const nonce = String(randomBytes(4).readUInt32BE(0));
    const query = new URLSearchParams({
      signature: sha1Signature(token, timestamp, nonce),
      timestamp,
      nonce,
      openid,
    });
    let body = xml;
    if (mode !== 'plain') {
      if (!encodingAesKey) throw new InputError(`push in ${mode} mode needs encodingAesKey`);
      const encrypted = new WeChatCrypto(encodingAesKey, this.state.options.appId).encrypt(xml);
      query.set('encrypt_type', 'aes');
      query.set('msg_signature', sha1Signature(token, timestamp, nonce, encrypted));
      body =
        mode === 'safe'
          ? buildXml({ ToUserName: this.state.originalId, Encrypt: encrypted })
          : xml.replace(/<\/xml>$/, `${buildXml({ Encrypt: encrypted }).slice(5, -6)}</xml>`);
    }
    const url = `${callbackUrl}${callbackUrl.includes('?') ? '&' : '?'}${query}`;
    return { url, body, xml, createTime: created };
  }

  /** Sends any message: ToUserName/FromUserName/CreateTime are added; `fields` follow. */
  async send(
    openid: string,
    fields: Record<string, string | number>,
    createTime?: number,
  ): Promise<PushResult> {
    const { url, body, xml, createTime: created } = this.build(openid, fields, createTime);
    const attempts: PushAttempt[] = [];
    // WeChat resends the identical message (same CreateTime, nonce, signature) on each retry.
    for (let attempt = 0; attempt <= this.config.retries; attempt++) {
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'text/xml' },
          body,
          signal: AbortSignal.timeout(this.config.timeoutMs),
        });
        const text = await response.text();
        attempts.push({ status: response.status });
        if (response.ok) {
          return {
            ok: true,
            attempts,
            status: response.status,
            body: text,
            xml,
            openid,
            createTime: created,
          };
        }
      } catch (error) {
        const name = error instanceof Error ? error.name : 'Error';
        attempts.push({
          error: name === 'TimeoutError' ? 'timeout' : `${name}: ${(error as Error).message}`,
        });
      }
    }
    return { ok: false, attempts, status: attempts.at(-1)?.status, xml, openid, createTime: created };
  }
}
