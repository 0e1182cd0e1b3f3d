/**
 * WeChat's callback URL.
 *
 * GET  /wx: server verification (the console's "提交" button): echo `echostr` iff the signature
 *      over [token, timestamp, nonce] is right.
 * POST /wx: pushes (events and messages). The order of checks is deliberate: the query string is
 *      authenticated before the body is even read (plaintext mode signs only the query); in safe
 *      mode the body is parsed just far enough to find `<Encrypt>` for msg_signature, and only the
 *      decrypted, authenticated message is interpreted. Then the push is deduplicated and enqueued:
 *      no WeChat API call and no database write here, so the answer leaves well inside WeChat's
 *      5 s budget.
 */
import { randomBytes } from 'node:crypto';
import type { Queue } from 'bullmq';
import { type Context, Hono } from 'hono';
import type { Redis } from 'ioredis';
import { type Config, ConfigError } from '../config.ts';
import { formatIssues, InputError, WxsyncError } from '../errors.ts';
import { WxMessage } from '../events/message.ts';
import type { Log } from '../logger.ts';
import { wxEvents } from '../metrics.ts';
import { REQUEST_COMMAND_TIMEOUT_MS } from '../redis.ts';
import { encryptedReply, WeChatCrypto } from '../wechat/crypto.ts';
import { SignatureError, signatureMatches } from '../wechat/signature.ts';
import { buildXml, parseWeChatXml } from '../wechat/xml.ts';
import { PayloadTooLargeError, readBody } from './body.ts';
import { createPushEnqueuer } from './enqueue.ts';
import { type RequestLogVariables, requestLog } from './request-log.ts';

export { PayloadTooLargeError };

export interface WxDeps {
  config: Config;
  log: Log;
  redis: Redis;
  eventsQueue: Queue;
}

type WxEnv = { Variables: RequestLogVariables & { wxMode: WxMode } };
type WxMode = 'plaintext' | 'aes';

export class UnsupportedMediaTypeError extends WxsyncError {
  readonly status = 415;
  readonly retryable = false;
  readonly code = 'unsupported_media_type';
}

/**
 * Content types a push may carry. WeChat sends text/xml; application/xml and text/plain are
 * accepted too (proxies and SDK test tools rewrite it), and so is a missing header. JSON, forms
 * and multipart are refused: they are never WeChat.
 */
const XML_TYPES = new Set(['text/xml', 'application/xml', 'text/plain']);

/**
 * How long a push waits for its job to be written before answering 503 (WeChat waits 5 s); the
 * dedupe claim before it is bounded by the request connection's command timeout (as long).
 */
const REDIS_BUDGET_MS = REQUEST_COMMAND_TIMEOUT_MS;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function wxRoutes(deps: WxDeps): Hono<WxEnv> {
  const { config } = deps;
  const token = config.WECHAT_TOKEN;
  const crypto =
    config.WECHAT_ENCODING_AES_KEY === undefined
      ? undefined
      : new WeChatCrypto(config.WECHAT_ENCODING_AES_KEY, config.WECHAT_APP_ID);
  /**
   * Three guards against WeChat's retries becoming two applied events: a Redis SET NX window per
   * push (outlives the job's completion and removal), deterministic job ids, and the unique key
   * of follower_events in the worker. BullMQ's own `deduplication` option would only repeat the
   * SET NX window at twice the cost of every enqueue. Pushes are group-committed (enqueue.ts).
   */
  const { enqueueOnce } = createPushEnqueuer({
    redis: deps.redis,
    queue: deps.eventsQueue,
    dedupePrefix: `${config.QUEUE_PREFIX}:wx-dedupe:`,
    dedupeTtlS: config.WX_DEDUPE_TTL_S,
    budgetMs: REDIS_BUDGET_MS,
  });
  const app = new Hono<WxEnv>();

  app.get('/', (c) => {
    const { signature, timestamp, nonce, echostr } = c.req.query();
    if (!signature || !timestamp || !nonce || echostr === undefined) {
      throw new InputError('missing signature, timestamp, nonce or echostr');
    }
    if (!signatureMatches(signature, token, timestamp, nonce)) throw new SignatureError('invalid signature');
    return c.text(echostr);
  });

  // Rejections are counted here, once, whatever refused them (signature, size, XML, Redis...).
  app.use('/', async (c, next) => {
    await next();
    if (c.req.method === 'POST' && c.res.status >= 400) {
      const reason = c.error instanceof WxsyncError ? c.error.code : `http_${c.res.status}`;
      wxEvents.inc({ result: 'rejected', reason, msg_type: '' });
    }
  });

  app.post(
    '/',
    // 1. The query string: signature (and its freshness) before anything else.
    async (c, next) => {
      c.set('wxMode', verifyPushQuery(c, token, config.WX_TIMESTAMP_TOLERANCE_S));
      checkContentType(c.req.header('content-type'));
      await next();
    },
    // 2. The body, capped at WX_BODY_LIMIT_BYTES as it arrives (chunked bodies too).
    async (c) => {
      const mode = c.get('wxMode');
      const bytes = await readBody(c, config.WX_BODY_LIMIT_BYTES);
      if (bytes.length === 0) throw new InputError('empty body');
      let xml: string;
      try {
        xml = utf8.decode(bytes);
      } catch {
        throw new InputError('body is not UTF-8');
      }
      const message = readMessage(c, mode, xml);
      const receivedAt = new Date();
      const fresh = await enqueueOnce(message, receivedAt);
      wxEvents.inc({ result: fresh ? 'accepted' : 'duplicate', reason: '', msg_type: message.MsgType });
      // Counted above; a line per push only at debug (see the access log in app.ts).
      if (deps.log.isLevelEnabled('debug')) {
        requestLog(c, deps.log).debug(
          { msgType: message.MsgType, event: message.Event, duplicate: !fresh, mode },
          fresh ? 'push accepted' : 'duplicate push (WeChat retry)',
        );
      }
      return reply(c, mode, message);
    },
  );

  /** Decrypts (safe and compatible mode) and validates the message. */
  function readMessage(c: Context<WxEnv>, mode: WxMode, xml: string): WxMessage {
    let fields = parseWeChatXml(xml);
    if (mode === 'aes') {
      if (crypto === undefined) {
        throw new ConfigError([
          'WECHAT_ENCODING_AES_KEY: required to accept safe-mode (encrypt_type=aes) pushes',
        ]);
      }
      const encrypted = fields.Encrypt;
      if (!encrypted) throw new InputError('safe-mode push without <Encrypt>');
      const msgSignature = c.req.query('msg_signature') ?? '';
      const { timestamp = '', nonce = '' } = c.req.query();
      if (!signatureMatches(msgSignature, token, timestamp, nonce, encrypted)) {
        throw new SignatureError('invalid msg_signature');
      }
      // In compatible mode the plaintext fields ride along; only the authenticated ciphertext counts.
      fields = parseWeChatXml(crypto.decrypt(encrypted));
    }
    const parsed = WxMessage.safeParse(fields);
    if (!parsed.success) {
      throw new InputError(`not a WeChat message: ${formatIssues(parsed.error, { rule: false }).join(', ')}`);
    }
    return parsed.data;
  }

  /** `success`, or the welcome text on subscribe when configured (encrypted in safe mode). */
  function reply(c: Context<WxEnv>, mode: WxMode, message: WxMessage): Response {
    const welcome = config.WX_WELCOME_TEXT;
    const isSubscribe = message.MsgType === 'event' && message.Event?.toLowerCase() === 'subscribe';
    if (!welcome || !isSubscribe) return c.text('success');
    const xml = buildXml({
      ToUserName: message.FromUserName,
      FromUserName: message.ToUserName ?? '',
      CreateTime: Math.floor(Date.now() / 1000),
      MsgType: 'text',
      Content: welcome,
    });
    const body =
      mode === 'aes' && crypto !== undefined
        ? encryptedReply(crypto, token, xml, { nonce: randomBytes(6).readUIntBE(0, 6).toString() })
        : xml;
    return c.body(body, 200, { 'Content-Type': 'text/xml; charset=utf-8' });
  }

  return app;
}

/** Checks the push's query string; returns the mode. Throws 400 (malformed) or 401 (forged, stale). */
export function verifyPushQuery(c: Context, token: string, toleranceS: number, now = Date.now()): WxMode {
  const {
    signature,
    timestamp,
    nonce,
    encrypt_type: encryptType,
    msg_signature: msgSignature,
  } = c.req.query();
  const mode: WxMode | undefined =
    encryptType === undefined || encryptType === '' || encryptType === 'raw'
      ? 'plaintext'
      : encryptType === 'aes'
        ? 'aes'
        : undefined;
  if (mode === undefined) throw new InputError('unknown encrypt_type');
  if (!timestamp || !nonce) throw new InputError('missing timestamp or nonce');
  if (!/^\d{1,12}$/.test(timestamp)) throw new InputError('timestamp must be unix seconds');
  if (mode === 'plaintext' && !signature) throw new SignatureError('missing signature');
  if (mode === 'aes' && !msgSignature) throw new SignatureError('missing msg_signature');
  // `signature` also comes with safe-mode pushes; when present it is checked there too.
  if (signature && !signatureMatches(signature, token, timestamp, nonce))
    throw new SignatureError('invalid signature');
  if (Math.abs(Math.floor(now / 1000) - Number(timestamp)) > toleranceS) {
    throw new SignatureError('stale timestamp (check the server clock)');
  }
  return mode;
}

function checkContentType(header: string | undefined): void {
  if (header === undefined) return;
  const [type = '', ...params] = header.split(';');
  if (!XML_TYPES.has(type.trim().toLowerCase())) throw new UnsupportedMediaTypeError('expected an XML body');
  for (const param of params) {
    const [name, value] = param.split('=').map((s) => s.trim().toLowerCase());
    if (name === 'charset' && value !== undefined && value.replaceAll('"', '') !== 'utf-8') {
      throw new UnsupportedMediaTypeError('expected UTF-8');
    }
  }
}
