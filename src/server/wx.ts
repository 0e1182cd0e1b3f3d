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
import { hash, randomBytes } from 'node:crypto';
import type { Queue } from 'bullmq';
import { type Context, Hono } from 'hono';
import type { Redis } from 'ioredis';
import { type Config, type WxMessageMode, wxMessageMode } from '../config.ts';
import { errorFamily, formatIssues, InputError, WxsyncError } from '../errors.ts';
import { KNOWN_MSG_TYPES, WxMessage } from '../events/message.ts';
import type { Log } from '../logger.ts';
import { boundedLabel, wxEvents } from '../metrics.ts';
import { REQUEST_COMMAND_TIMEOUT_MS } from '../redis.ts';
import { encryptedReply, WeChatCrypto } from '../wechat/crypto.ts';
import { SignatureError, signatureMatches } from '../wechat/signature.ts';
import { buildXml, parseWeChatXml } from '../wechat/xml.ts';
import { PayloadTooLargeError, readBody } from './body.ts';
import { createPushEnqueuer } from './enqueue.ts';
import { createFailureLimit } from './failure-limit.ts';
import { type RequestLogVariables, requestLog } from './request-log.ts';

export { PayloadTooLargeError };

export interface WxDeps {
  config: Config;
  log: Log;
  redis: Redis;
  eventsQueue: Queue;
}

type WxEnv = { Variables: RequestLogVariables & { wxMode: WxMode; signed: SignedQuery } };
/** How one request is encrypted: `encrypt_type` absent/raw, or aes. */
type WxMode = 'plaintext' | 'aes';

/** The verified (timestamp, nonce) of a request: its signature is a function of the two. */
interface SignedQuery {
  timestamp: string;
  nonce: string;
}

export class UnsupportedMediaTypeError extends errorFamily(415, false, 'unsupported_media_type') {}

/** A push in a mode the account does not use (WX_MESSAGE_MODE): 400, WeChat never sends one. */
export class WrongModeError extends errorFamily(400, false, 'wrong_mode') {}

const ACCEPTS: Record<WxMessageMode, ReadonlySet<WxMode>> = {
  plaintext: new Set(['plaintext']),
  compatible: new Set(['plaintext', 'aes']),
  safe: new Set(['aes']),
};

/** WeChat's nonces are digits; SDK test tools send letters too. Bounded: it becomes a Redis key. */
const NONCE = /^[A-Za-z0-9_-]{1,64}$/;

/** The claim value of a (timestamp, nonce) used by a GET verification (never a body hash). */
const VERIFICATION = 'get';

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
  const accountMode = wxMessageMode(config);
  const crypto =
    config.WECHAT_ENCODING_AES_KEY === undefined
      ? undefined
      : new WeChatCrypto(config.WECHAT_ENCODING_AES_KEY, config.WECHAT_APP_ID);
  const toleranceS = config.WX_TIMESTAMP_TOLERANCE_S;
  /**
   * One message per signed query. A signature is sha1(token, timestamp, nonce): the pair is the
   * identity of the signed triple (keying on the signature text too would let a forger mint new
   * triples by changing its hex case). The pair is claimed with the body's hash for as long as the
   * timestamp is acceptable: until timestamp + tolerance, plus a minute of clock skew between our
   * processes (about tolerance + 60 s for a push sent just now, the common case: ~100 bytes a push).
   */
  const signedPrefix = `${config.QUEUE_PREFIX}:wx-signed:`;
  const signedTtlS = (q: SignedQuery) =>
    Math.max(1, Number(q.timestamp) + toleranceS + 60 - Math.floor(Date.now() / 1000));
  const signedKey = (q: SignedQuery) => `${signedPrefix}${q.timestamp}:${q.nonce}`;
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
  const failures = createFailureLimit({
    limit: config.WX_FAILURE_LIMIT,
    trustedProxyHops: config.WX_TRUSTED_PROXY_HOPS,
  });
  const app = new Hono<WxEnv>();

  app.get('/', async (c) => {
    const { signature, echostr } = c.req.query();
    if (!signature || echostr === undefined)
      throw new InputError('missing signature, timestamp, nonce or echostr');
    const signed = signedPair(c);
    if (!signatureMatches(signature, token, signed.timestamp, signed.nonce)) {
      throw new SignatureError('invalid signature');
    }
    checkFreshness(signed.timestamp, toleranceS);
    // A verification URL (often logged by proxies) must not become a push: its pair is claimed for
    // verification. Best effort: while Redis is down no push is accepted anyway, and the echo
    // proves only that we hold the token.
    const used = await deps.redis
      .set(signedKey(signed), VERIFICATION, 'EX', signedTtlS(signed), 'NX', 'GET')
      .catch(() => null);
    if (used !== null && used !== VERIFICATION) {
      throw new SignatureError('this signed query was already used for a push');
    }
    return c.text(echostr);
  });

  // Rejections are counted here, once, whatever refused them (signature, size, XML, Redis, the
  // failure limit...). Refusals of the sender's making (4xx but the limit's own 429) count toward
  // its failure limit; our outages (5xx) do not.
  app.use('/', async (c, next) => {
    await next();
    if (c.req.method === 'POST' && c.res.status >= 400) {
      const reason = c.error instanceof WxsyncError ? c.error.code : `http_${c.res.status}`;
      wxEvents.inc({ result: 'rejected', reason, msg_type: '' });
      if (c.res.status < 500 && c.res.status !== 429) failures.fail(c);
    }
  });
  // A source over the limit is refused before its signature is even computed.
  app.use('/', async (c, next) => {
    failures.check(c);
    await next();
  });

  app.post(
    '/',
    // 1. The query string: signature (and its freshness) before anything else.
    async (c, next) => {
      const { mode, signed } = verifyPushQuery(c, token, toleranceS);
      if (!ACCEPTS[accountMode].has(mode)) {
        throw new WrongModeError(
          accountMode === 'safe'
            ? 'this account takes encrypted (safe-mode) pushes only'
            : 'this account takes plaintext pushes only (no EncodingAESKey in use)',
        );
      }
      c.set('wxMode', mode);
      c.set('signed', signed);
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
      const fresh = await enqueueOnce(message, receivedAt, {
        key: signedKey(c.get('signed')),
        value: hash('sha1', bytes, 'base64'),
        ttlS: signedTtlS(c.get('signed')),
      });
      wxEvents.inc({
        result: fresh ? 'accepted' : 'duplicate',
        reason: '',
        msg_type: boundedLabel(message.MsgType, KNOWN_MSG_TYPES),
      });
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
      // wxMessageMode refuses every mode that accepts aes pushes without a key: a bug if reached.
      if (crypto === undefined) throw new Error('an aes push reached readMessage without a key');
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

/** The query's timestamp and nonce, well-formed (400 otherwise); not yet authenticated. */
function signedPair(c: Context): SignedQuery {
  const { timestamp, nonce } = c.req.query();
  if (!timestamp || !nonce) throw new InputError('missing timestamp or nonce');
  if (!/^\d{1,12}$/.test(timestamp)) throw new InputError('timestamp must be unix seconds');
  if (!NONCE.test(nonce)) throw new InputError('nonce must be 1-64 letters or digits');
  return { timestamp, nonce };
}

/** 401 for a timestamp outside the window: an old signed query (or echo) is not good forever. */
function checkFreshness(timestamp: string, toleranceS: number, now = Date.now()): void {
  if (Math.abs(Math.floor(now / 1000) - Number(timestamp)) > toleranceS) {
    throw new SignatureError('stale timestamp (check the server clock)');
  }
}

/**
 * Checks the push's query string; returns the request's mode and its (timestamp, nonce). Throws
 * 400 (malformed) or 401 (forged, stale).
 */
function verifyPushQuery(
  c: Context,
  token: string,
  toleranceS: number,
  now = Date.now(),
): { mode: WxMode; signed: SignedQuery } {
  const { signature, encrypt_type: encryptType, msg_signature: msgSignature } = c.req.query();
  const mode: WxMode | undefined =
    encryptType === undefined || encryptType === '' || encryptType === 'raw'
      ? 'plaintext'
      : encryptType === 'aes'
        ? 'aes'
        : undefined;
  if (mode === undefined) throw new InputError('unknown encrypt_type');
  const { timestamp, nonce } = signedPair(c);
  if (mode === 'plaintext' && !signature) throw new SignatureError('missing signature');
  if (mode === 'aes' && !msgSignature) throw new SignatureError('missing msg_signature');
  // `signature` also comes with safe-mode pushes; when present it is checked there too.
  if (signature && !signatureMatches(signature, token, timestamp, nonce))
    throw new SignatureError('invalid signature');
  checkFreshness(timestamp, toleranceS, now);
  return { mode, signed: { timestamp, nonce } };
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
