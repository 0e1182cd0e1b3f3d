/**
 * /wx in-process (app.request) against real Redis: verification, plaintext / safe / compatible
 * pushes, dedupe, passive replies and hostile input. The worker side is in e2e.test.ts.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { queuedPushes } from '../../src/events/queued.ts';
import { createLogger } from '../../src/logger.ts';
import { wxEvents } from '../../src/metrics.ts';
import { QUEUE_NAMES } from '../../src/queues.ts';
import { createRedis } from '../../src/redis.ts';
import { createApp } from '../../src/server/app.ts';
import { WeChatCrypto } from '../../src/wechat/crypto.ts';
import { sha1Signature } from '../../src/wechat/signature.ts';
import { parseWeChatXml } from '../../src/wechat/xml.ts';
import { TEST_REDIS_URL, TEST_WECHAT } from '../support/env.ts';
import {
  aesPush,
  crypto,
  nowS,
  plainQuery,
  subscribeXml,
  TOKEN,
  testConfig,
  textXml,
} from '../support/wx.ts';

const prefix = `t-wx-${randomBytes(4).toString('hex')}`;
const log = createLogger('silent', { pretty: false });
let redis: Redis;
let queue: Queue;
let app: ReturnType<typeof createApp>;
let welcomeApp: ReturnType<typeof createApp>;

/** An app on this file's Redis and queue, with configuration `overrides`. */
const appFor = (overrides: Record<string, string>) =>
  createApp({ config: testConfig({ QUEUE_PREFIX: prefix, ...overrides }), log, redis, eventsQueue: queue });

beforeAll(async () => {
  redis = createRedis(TEST_REDIS_URL, 'request');
  await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
  queue = new Queue(QUEUE_NAMES.events, { connection: redis, prefix });
  app = appFor({});
  welcomeApp = appFor({ WX_WELCOME_TEXT: '欢迎关注 👋' });
});

afterAll(async () => {
  await queue.obliterate({ force: true });
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await queue.close();
  redis.disconnect();
});

beforeEach(async () => {
  await queue.obliterate({ force: true });
  const keys = await redis.keys(`${prefix}:wx-dedupe:*`);
  if (keys.length > 0) await redis.del(...keys);
});

/** Pushes queued, whichever job carries them (/wx group-commits concurrent pushes into one job). */
const pushCount = async () => (await queuedPushes(queue)).length;
const messages = async () => (await queuedPushes(queue)).map((p) => p.push.message);

const post = async (
  target: ReturnType<typeof createApp>,
  query: string,
  body: string | Uint8Array,
  headers: Record<string, string> = {},
) =>
  target.request(`/wx?${query}`, {
    method: 'POST',
    body,
    headers: { 'Content-Type': 'text/xml', ...headers },
  });

describe('GET /wx (server verification)', () => {
  it('echoes echostr verbatim as text/plain when the signature is right', async () => {
    const { query } = plainQuery();
    const echostr = '5837397520665436492 中 &x=';
    const res = await app.request(`/wx?${query}&echostr=${encodeURIComponent(echostr)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toBe(echostr);
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  it('sends X-Content-Type-Options: nosniff on every answer (echo, refusals, pushes, 404)', async () => {
    const { query } = plainQuery();
    const answers = [
      await app.request(`/wx?${query}&echostr=${encodeURIComponent('<script>alert(1)</script>')}`),
      await app.request(`/wx?${plainQuery({ token: 'forger' }).query}&echostr=e`),
      await app.request('/wx?echostr=e'),
      await post(app, plainQuery().query, subscribeXml('o-nosniff')),
      await post(app, plainQuery().query, '<xml>'),
      await app.request('/wx/nothing-here'),
      await app.request('/nothing-here'),
    ];
    for (const res of answers)
      expect(res.headers.get('x-content-type-options'), String(res.status)).toBe('nosniff');
  });

  it('refuses a wrong signature with 401 and never echoes', async () => {
    const { query } = plainQuery({ token: 'someoneelse' });
    const res = await app.request(`/wx?${query}&echostr=ECHO-SECRET-42`);
    expect(res.status).toBe(401);
    const body = await res.text();
    expect(body).not.toContain('ECHO-SECRET-42');
    expect(body).not.toMatch(/at .*\.ts/); // no stack trace
    expect(body.length).toBeLessThan(100);
  });

  it('refuses a stale or future timestamp (401): an old verification URL does not echo forever', async () => {
    for (const timestamp of [nowS() - 301, nowS() + 301, 1]) {
      const { query } = plainQuery({ timestamp });
      const res = await app.request(`/wx?${query}&echostr=OLD-ECHO`);
      expect(res.status).toBe(401);
      expect(await res.text()).not.toContain('OLD-ECHO');
    }
  });

  it('refuses a malformed timestamp or nonce (400)', async () => {
    const timestamp = String(nowS());
    for (const [ts, nonce] of [
      ['12ab', '1'],
      [timestamp, 'x'.repeat(65)],
      [timestamp, 'a b'],
    ] as const) {
      const signature = sha1Signature(TOKEN, ts, nonce);
      const q = new URLSearchParams({ signature, timestamp: ts, nonce, echostr: 'e' });
      expect((await app.request(`/wx?${q}`)).status).toBe(400);
      expect((await post(app, q.toString(), subscribeXml('o-bad-query'))).status).toBe(400);
    }
  });

  it('refuses missing parameters with 400', async () => {
    const res = await app.request('/wx?echostr=ECHO-SECRET-42&timestamp=1');
    expect(res.status).toBe(400);
    expect(await res.text()).not.toContain('ECHO-SECRET-42');
  });
});

describe('POST /wx (plaintext mode)', () => {
  it('enqueues a QR-scene subscribe at once, ids kept as strings, and answers success', async () => {
    const xml = subscribeXml('o-plain-1', { EventKey: 'qrscene_123123', Ticket: 'gQH47joAAAAAAAAAASxod' });
    const res = await post(app, plainQuery().query, xml);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('success');
    const queued = await queuedPushes(queue);
    expect(queued).toHaveLength(1);
    const message = queued[0]?.push.message;
    expect(message).toMatchObject({
      FromUserName: 'o-plain-1',
      MsgType: 'event',
      Event: 'subscribe',
      EventKey: 'qrscene_123123',
      Ticket: 'gQH47joAAAAAAAAAASxod',
    });
    expect(typeof message?.CreateTime).toBe('string');
    expect(queued[0]?.job.opts.attempts).toBeGreaterThan(1);
  });

  it('enqueues other messages too (text with a 64-bit MsgId, unsubscribe, CLICK)', async () => {
    const msgId = '23456789012345678901'.slice(0, 19);
    expect((await post(app, plainQuery().query, textXml('o-plain-2', msgId, 'hello'))).status).toBe(200);
    expect(
      (await post(app, plainQuery().query, subscribeXml('o-plain-2', { Event: 'unsubscribe' }))).status,
    ).toBe(200);
    expect(
      (await post(app, plainQuery().query, subscribeXml('o-plain-2', { Event: 'CLICK', EventKey: 'MENU_1' })))
        .status,
    ).toBe(200);
    const queued = await messages();
    expect(queued.map((m) => m.Event ?? m.MsgType).sort()).toEqual(['CLICK', 'text', 'unsubscribe']);
    expect(queued.find((m) => m.MsgType === 'text')?.MsgId).toBe(msgId);
  });

  it('turns the same push delivered 4 times (WeChat retries, new timestamp/nonce) into one queued push', async () => {
    const xml = subscribeXml('o-retry');
    for (let i = 0; i < 4; i++) {
      const res = await post(app, plainQuery().query, xml);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('success');
    }
    expect(await pushCount()).toBe(1);
  });

  it('still refuses a retry after the first job was completed and removed (Redis window)', async () => {
    const xml = subscribeXml('o-retry-2');
    await post(app, plainQuery().query, xml);
    const queued = await queuedPushes(queue);
    expect(queued).toHaveLength(1);
    for (const { job } of queued) await job.remove();
    expect(await pushCount()).toBe(0);
    await post(app, plainQuery().query, xml);
    expect(await pushCount()).toBe(0);
  });

  it('replies the welcome text on subscribe when configured (and only then)', async () => {
    const res = await post(welcomeApp, plainQuery().query, subscribeXml('o-welcome'));
    expect(res.status).toBe(200);
    const reply = parseWeChatXml(await res.text());
    expect(reply).toMatchObject({
      ToUserName: 'o-welcome',
      FromUserName: 'gh_0123456789ab',
      MsgType: 'text',
      Content: '欢迎关注 👋',
    });
    const text = await post(welcomeApp, plainQuery().query, textXml('o-welcome', '1', 'hi'));
    expect(await text.text()).toBe('success');
  });
});

describe('POST /wx (safe and compatible mode)', () => {
  it('decrypts a safe-mode subscribe and enqueues it', async () => {
    const { query, body } = aesPush(subscribeXml('o-aes-1', { EventKey: 'qrscene_7', Ticket: 'T' }));
    const res = await post(app, query, body);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('success');
    const [message] = await messages();
    expect(message).toMatchObject({
      FromUserName: 'o-aes-1',
      Event: 'subscribe',
      EventKey: 'qrscene_7',
    });
  });

  it('accepts compatible mode (plaintext fields and Encrypt) using the authenticated ciphertext', async () => {
    const { query, body } = aesPush(subscribeXml('o-compat'), { compatible: true });
    expect(body).toContain('<FromUserName>');
    const res = await post(app, query, body);
    expect(res.status).toBe(200);
    const [message] = await messages();
    expect(message?.FromUserName).toBe('o-compat');
  });

  it('encrypts the welcome reply in safe mode (verifiable MsgSignature, seconds TimeStamp)', async () => {
    const { query, body } = aesPush(subscribeXml('o-aes-welcome'));
    const res = await post(welcomeApp, query, body);
    const reply = parseWeChatXml(await res.text());
    expect(Object.keys(reply).sort()).toEqual(['Encrypt', 'MsgSignature', 'Nonce', 'TimeStamp']);
    expect(Math.abs(Number(reply.TimeStamp) - nowS())).toBeLessThan(600);
    expect(reply.MsgSignature).toBe(
      sha1Signature(TOKEN, reply.TimeStamp ?? '', reply.Nonce ?? '', reply.Encrypt ?? ''),
    );
    const inner = parseWeChatXml(crypto.decrypt(reply.Encrypt ?? ''));
    expect(inner).toMatchObject({ ToUserName: 'o-aes-welcome', MsgType: 'text', Content: '欢迎关注 👋' });
  });

  it('refuses a forged msg_signature (401) and another appid (400); nothing enqueued', async () => {
    const { query, body } = aesPush(subscribeXml('o-aes-forged'));
    const forged = query.replace(/msg_signature=[0-9a-f]+/, `msg_signature=${'0'.repeat(40)}`);
    expect((await post(app, forged, body)).status).toBe(401);
    const other = new WeChatCrypto(TEST_WECHAT.WECHAT_ENCODING_AES_KEY, 'wxffffffffffffffff');
    const wrongApp = aesPush(subscribeXml('o-aes-other'), { crypto: other });
    const res = await post(app, wrongApp.query, wrongApp.body);
    expect(res.status).toBe(400);
    expect(await pushCount()).toBe(0);
  });

  it('refuses a safe-mode push when no EncodingAESKey is configured (400: plaintext account, not a 500)', async () => {
    const plainOnly = appFor({ WECHAT_ENCODING_AES_KEY: '', WX_MESSAGE_MODE: '' });
    const { query, body } = aesPush(subscribeXml('o-nokey'));
    const res = await post(plainOnly, query, body);
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/plaintext pushes only/);
    expect(await pushCount()).toBe(0);
  });
});

describe('message mode (WX_MESSAGE_MODE) and one message per signed query', () => {
  it('defaults to safe when the AES key is set: a plaintext push is refused (400), an encrypted one accepted', async () => {
    const safe = appFor({ WX_MESSAGE_MODE: '' });
    const plain = await post(safe, plainQuery().query, subscribeXml('o-mode-safe'));
    expect(plain.status).toBe(400);
    expect(await plain.text()).toMatch(/encrypted \(safe-mode\) pushes only/);
    expect(await pushCount()).toBe(0);
    const { query, body } = aesPush(subscribeXml('o-mode-safe'));
    expect((await post(safe, query, body)).status).toBe(200);
    expect(await pushCount()).toBe(1);
  });

  it('a captured safe-mode URL cannot carry a forged plaintext push, in safe mode or after use in compatible mode', async () => {
    const { query, body } = aesPush(subscribeXml('o-victim'));
    const stripped = query.replace(/&encrypt_type=aes/, '').replace(/&msg_signature=[0-9a-f]+/, '');
    const forged = subscribeXml('o-victim', { Event: 'unsubscribe' });
    expect((await post(appFor({ WX_MESSAGE_MODE: 'safe' }), stripped, forged)).status).toBe(400);
    // Compatible mode takes plaintext too: the signed (timestamp, nonce) is spent on the real push.
    expect((await post(app, query, body)).status).toBe(200);
    const replay = await post(app, stripped, forged);
    expect(replay.status).toBe(401);
    expect(await replay.text()).toMatch(/already used/);
    expect((await messages()).map((m) => m.Event)).toEqual(['subscribe']);
  });

  it('plaintext mode refuses encrypted pushes; compatible and safe need the AES key (config error at start)', async () => {
    const plain = appFor({ WX_MESSAGE_MODE: 'plaintext' });
    const { query, body } = aesPush(subscribeXml('o-mode-plain'));
    expect((await post(plain, query, body)).status).toBe(400);
    expect((await post(plain, plainQuery().query, subscribeXml('o-mode-plain'))).status).toBe(200);
    for (const mode of ['compatible', 'safe']) {
      expect(() => appFor({ WX_MESSAGE_MODE: mode, WECHAT_ENCODING_AES_KEY: '' })).toThrow(
        /WECHAT_ENCODING_AES_KEY: required by WX_MESSAGE_MODE/,
      );
    }
  });

  it('one signed query carries one message: a second body is refused (401), the same body is a duplicate', async () => {
    const { query } = plainQuery();
    const first = subscribeXml('o-replay-1');
    expect((await post(app, query, first)).status).toBe(200);
    // The same message again (a network duplicate) dedupes as WeChat's retries do.
    const again = await post(app, query, first);
    expect(again.status).toBe(200);
    expect(await again.text()).toBe('success');
    for (const other of [
      subscribeXml('o-replay-1', { Event: 'unsubscribe' }),
      subscribeXml('o-replay-2'),
      textXml('o-replay-3', '77', 'forged'),
    ]) {
      const res = await post(app, query, other);
      expect(res.status).toBe(401);
    }
    expect((await messages()).map((m) => m.FromUserName)).toEqual(['o-replay-1']);
  });

  it('a replay refused leaves the forged push unclaimed: its real delivery is accepted later', async () => {
    const { query } = plainQuery();
    expect((await post(app, query, subscribeXml('o-first'))).status).toBe(200);
    const real = subscribeXml('o-second');
    expect((await post(app, query, real)).status).toBe(401);
    expect((await post(app, plainQuery().query, real)).status).toBe(200);
    expect(await pushCount()).toBe(2);
  });

  it("remembers a signed pair only while its timestamp is acceptable (plus a minute's skew)", async () => {
    const now = plainQuery();
    const old = plainQuery({ timestamp: nowS() - 290 });
    expect((await post(app, now.query, subscribeXml('o-ttl-1'))).status).toBe(200);
    expect((await post(app, old.query, subscribeXml('o-ttl-2'))).status).toBe(200);
    const ttl = (q: { timestamp: string; nonce: string }) =>
      redis.ttl(`${prefix}:wx-signed:${q.timestamp}:${q.nonce}`);
    expect(await ttl(now)).toBeGreaterThan(300);
    expect(await ttl(now)).toBeLessThanOrEqual(360);
    expect(await ttl(old)).toBeGreaterThan(0);
    expect(await ttl(old)).toBeLessThanOrEqual(70);
  });

  it('varying the hex case of the signature does not make a new signed query', async () => {
    const { query } = plainQuery();
    expect((await post(app, query, subscribeXml('o-case-1'))).status).toBe(200);
    const upper = query.replace(
      /signature=([0-9a-f]+)/,
      (_m, hex: string) => `signature=${hex.toUpperCase()}`,
    );
    expect((await post(app, upper, subscribeXml('o-case-2'))).status).toBe(401);
    expect(await pushCount()).toBe(1);
  });

  it('a GET verification URL cannot be turned into a push', async () => {
    const { query } = plainQuery();
    expect((await app.request(`/wx?${query}&echostr=e1`)).status).toBe(200);
    expect((await post(app, query, subscribeXml('o-from-get'))).status).toBe(401);
    // The console may press "submit" twice: the same verification answers again.
    expect((await app.request(`/wx?${query}&echostr=e1`)).status).toBe(200);
    expect(await pushCount()).toBe(0);
  });

  it('a push URL cannot be replayed as a GET verification either', async () => {
    const { query } = plainQuery();
    expect((await post(app, query, subscribeXml('o-then-get'))).status).toBe(200);
    expect((await app.request(`/wx?${query}&echostr=e2`)).status).toBe(401);
  });
});

describe('hostile input: each refused with its 4xx, nothing enqueued, service goes on', () => {
  const BOMB = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><xml><ToUserName>a</ToUserName><FromUserName>&lol3;</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType><Event>subscribe</Event></xml>`;
  const XXE = `<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><FromUserName>&xxe;</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType><Event>subscribe</Event></xml>`;
  const valid = () => subscribeXml('o-hostile');

  const cases: Array<[string, number, () => Response | Promise<Response>]> = [
    ['forged signature', 401, () => post(app, plainQuery({ token: 'forger' }).query, valid())],
    [
      'missing signature',
      401,
      () => post(app, plainQuery().query.replace(/signature=[0-9a-f]+&/, ''), valid()),
    ],
    [
      'stale timestamp (10 minutes old)',
      401,
      () => post(app, plainQuery({ timestamp: nowS() - 600 }).query, valid()),
    ],
    [
      'timestamp from the future',
      401,
      () => post(app, plainQuery({ timestamp: nowS() + 600 }).query, valid()),
    ],
    [
      '1 MiB body (Content-Length)',
      413,
      () => post(app, plainQuery().query, `<xml>${'a'.repeat(1024 * 1024)}</xml>`),
    ],
    [
      '1 MiB body (chunked, no Content-Length)',
      413,
      () => {
        const chunk = new TextEncoder().encode('a'.repeat(64 * 1024));
        let sent = 0;
        const stream = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent++ >= 16) controller.close();
            else controller.enqueue(chunk);
          },
        });
        return app.request(`/wx?${plainQuery().query}`, {
          method: 'POST',
          body: stream,
          headers: { 'Content-Type': 'text/xml', 'Transfer-Encoding': 'chunked' },
          duplex: 'half',
        } as RequestInit);
      },
    ],
    ['billion-laughs XML', 400, () => post(app, plainQuery().query, BOMB)],
    ['external entity', 400, () => post(app, plainQuery().query, XXE)],
    ['truncated XML', 400, () => post(app, plainQuery().query, valid().slice(0, 90))],
    ['not XML at all', 400, () => post(app, plainQuery().query, '{"hello":"world"}')],
    ['empty body', 400, () => post(app, plainQuery().query, '')],
    ['XML without the required fields', 400, () => post(app, plainQuery().query, '<xml><A>1</A></xml>')],
    [
      'wrong content type',
      415,
      () => post(app, plainQuery().query, valid(), { 'Content-Type': 'application/json' }),
    ],
    [
      'wrong charset',
      415,
      () => post(app, plainQuery().query, valid(), { 'Content-Type': 'text/xml; charset=gbk' }),
    ],
    [
      'non-UTF-8 bytes',
      400,
      () =>
        post(
          app,
          plainQuery().query,
          Buffer.concat([
            Buffer.from('<xml><FromUserName>'),
            Buffer.from([0xc3, 0x28, 0xff]),
            Buffer.from('</FromUserName></xml>'),
          ]),
        ),
    ],
    // Poison: pushes PostgreSQL would refuse (before: answered success, then failed in the worker 8 times).
    [
      'a NUL byte in a field',
      400,
      () => post(app, plainQuery().query, subscribeXml('o-hostile', { EventKey: 'a\u0000b' })),
    ],
    [
      'a control character reference',
      400,
      () => post(app, plainQuery().query, valid().replace('</xml>', '<K>&#1;</K></xml>')),
    ],
    [
      'CreateTime past year 9999',
      400,
      () => post(app, plainQuery().query, subscribeXml('o-hostile', { CreateTime: 253402300800 })),
    ],
    [
      'CreateTime of 12 nines',
      400,
      () => post(app, plainQuery().query, subscribeXml('o-hostile', { CreateTime: 999999999999 })),
    ],
    [
      'a negative CreateTime',
      400,
      () => post(app, plainQuery().query, subscribeXml('o-hostile', { CreateTime: '-5' })),
    ],
    [
      'a 20 KB EventKey',
      400,
      () => post(app, plainQuery().query, subscribeXml('o-hostile', { EventKey: 'k'.repeat(20_000) })),
    ],
    [
      'FromUserName <script>',
      400,
      () => post(app, plainQuery().query, subscribeXml('<script>alert(1)</script>')),
    ],
    ['FromUserName with quotes', 400, () => post(app, plainQuery().query, subscribeXml(`o"'quoted'"`))],
    ['a 128-character FromUserName', 400, () => post(app, plainQuery().query, subscribeXml('o'.repeat(128)))],
    [
      'an unknown MsgType that is no word',
      400,
      () => post(app, plainQuery().query, subscribeXml('o-hostile', { MsgType: 'x y' })),
    ],
    ['unknown encrypt_type', 400, () => post(app, `${plainQuery().query}&encrypt_type=rot13`, valid())],
  ];

  const rejected = async () =>
    (await wxEvents.get()).values
      .filter((v) => v.labels.result === 'rejected')
      .reduce((a, v) => a + v.value, 0);

  it.each(cases)('%s -> %i', async (_name, status, send) => {
    const before = await rejected();
    const res = await send();
    expect(res.status).toBe(status);
    expect(await rejected()).toBe(before + 1);
    const body = await res.text();
    expect(body).not.toMatch(/\bat .*\.(ts|js):\d+/); // no stack trace
    expect(body).not.toContain('root:');
    expect(await pushCount()).toBe(0);
    // A valid push right after is still served.
    const ok = await post(app, plainQuery().query, valid());
    expect(ok.status).toBe(200);
    expect(await pushCount()).toBe(1);
  });
});

describe('failure limit per source (WX_FAILURE_LIMIT)', () => {
  const forged = () => plainQuery({ token: 'forger' }).query;

  it('answers 429 to a source after its limit of refused pushes, before checking anything; others go on', async () => {
    const limited = appFor({ WX_FAILURE_LIMIT: '5', WX_TRUSTED_PROXY_HOPS: '1' });
    // Our proxy appends the client's address; whatever the client put before it is its own to forge.
    const from = (ip: string, spoofed = '203.0.113.9') => ({ 'X-Forwarded-For': `${spoofed}, ${ip}` });
    for (let i = 0; i < 5; i++) {
      expect(
        (await post(limited, forged(), subscribeXml('o-flood'), from('198.51.100.7', `1.2.3.${i}`))).status,
      ).toBe(401);
    }
    const blocked = await post(limited, plainQuery().query, subscribeXml('o-flood'), from('198.51.100.7'));
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another source (WeChat's) is served as usual.
    const other = await post(
      limited,
      plainQuery().query,
      subscribeXml('o-other-source'),
      from('198.51.100.8', '198.51.100.7'),
    );
    expect(other.status).toBe(200);
    expect(await pushCount()).toBe(1);
  });

  it('uses the socket address without trusted proxies: X-Forwarded-For can neither dodge nor frame', async () => {
    const limited = appFor({ WX_FAILURE_LIMIT: '3' });
    const server = serve({ fetch: limited.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/wx`;
    try {
      const send = (query: string, xff: string) =>
        fetch(`${url}?${query}`, {
          method: 'POST',
          body: subscribeXml('o-socket'),
          headers: { 'Content-Type': 'text/xml', 'X-Forwarded-For': xff },
        });
      for (let i = 0; i < 3; i++) expect((await send(forged(), `10.9.9.${i}`)).status).toBe(401);
      // A new X-Forwarded-For per request does not make a new source.
      expect((await send(forged(), '10.9.9.200')).status).toBe(429);
      expect((await send(plainQuery().query, '10.9.9.201')).status).toBe(429);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('metrics labels stay bounded', () => {
  it('counts pushes of unknown MsgTypes as msg_type="other": 200 new types make no new series', async () => {
    const types = [...Array(200)].map((_, i) => `t${i}x${randomBytes(3).toString('hex')}`);
    for (const [i, type] of types.entries()) {
      const res = await post(
        app,
        plainQuery().query,
        textXml('o-types', String(5000 + i), 'x').replaceAll('text', type),
      );
      expect(res.status).toBe(200);
    }
    const values = (await wxEvents.get()).values;
    const labels = new Set(values.map((v) => String(v.labels.msg_type)));
    for (const type of types) expect(labels.has(type)).toBe(false);
    const other = values.find((v) => v.labels.msg_type === 'other' && v.labels.result === 'accepted');
    expect(other?.value).toBeGreaterThanOrEqual(200);
  });
});

describe('Redis down', () => {
  it('answers 503 fast (WeChat retries later) and keeps serving', async () => {
    const dead = createRedis('redis://127.0.0.1:1', 'request');
    dead.on('error', () => undefined);
    const deadQueue = new Queue(QUEUE_NAMES.events, { connection: dead, prefix });
    deadQueue.on('error', () => undefined);
    try {
      const deadApp = createApp({
        config: testConfig({ QUEUE_PREFIX: prefix }),
        log,
        redis: dead,
        eventsQueue: deadQueue,
      });
      const res = await post(deadApp, plainQuery().query, subscribeXml('o-dead'));
      expect(res.status).toBe(503);
      const again = await post(deadApp, plainQuery().query, subscribeXml('o-dead'));
      expect(again.status).toBe(503);
      // GET verification needs no Redis.
      const { query } = plainQuery();
      expect((await deadApp.request(`/wx?${query}&echostr=e`)).status).toBe(200);
    } finally {
      await deadQueue.close().catch(() => undefined);
      dead.disconnect();
    }
  });
});

describe('errors elsewhere', () => {
  it('answers unknown paths with 404 JSON', async () => {
    const res = await app.request('/nope');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'not_found' });
  });
});
