/**
 * Shared setup of the WeChat client tests: real Redis, a random key prefix, captured pino logs,
 * and a file's fake platform with fresh client pools.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach } from 'vitest';
import { type FakeWeChatOptions, startFakeWeChat } from '../../src/fake-wechat/index.ts';
import type { Log } from '../../src/logger.ts';
import { WeChatClient, type WeChatClientOptions } from '../../src/wechat/client.ts';
import { TEST_REDIS_URL, TEST_WECHAT } from './env.ts';
import { perFile } from './per-file.ts';

export const randomPrefix = (): string => `wxtest-${randomBytes(6).toString('hex')}`;

/** A pino logger at trace level whose every line lands in `lines` (no redaction configured: our code must not need it). */
export function captureLog(): { log: Log; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { log: pino({ level: 'trace' }, stream), lines };
}

/**
 * Tracks clients and Redis connections so one afterAll closes them and deletes the prefix's keys
 * (including `${prefix}-<suffix>` prefixes given to clients that must not share the token).
 */
export class ClientPool {
  readonly prefix = randomPrefix();
  private readonly redises: Redis[] = [];
  private readonly clients: WeChatClient[] = [];

  /** `defaults` apply to every client of the pool (e.g. `{ tokenApi: 'classic' }`). */
  constructor(private readonly defaults: Partial<WeChatClientOptions> = {}) {}

  redis(): Redis {
    const r = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 3 });
    this.redises.push(r);
    return r;
  }

  client(apiBase: string, log: Log, overrides: Partial<WeChatClientOptions> = {}): WeChatClient {
    const client = new WeChatClient({
      appId: TEST_WECHAT.WECHAT_APP_ID,
      appSecret: TEST_WECHAT.WECHAT_APP_SECRET,
      apiBase,
      redis: overrides.redis ?? this.redis(),
      log,
      keyPrefix: this.prefix,
      refreshMarginS: 300,
      rateLimitPerS: 10_000,
      timeoutMs: 5_000,
      maxAttempts: 6,
      backoffBaseMs: 5,
      backoffMaxMs: 50,
      ...this.defaults,
      ...overrides,
    });
    this.clients.push(client);
    return client;
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.close();
    const r = this.redises[0] ?? this.redis();
    const keys = await r.keys(`${this.prefix}*`);
    if (keys.length > 0) await r.del(...keys);
    await Promise.all(this.redises.map((x) => x.quit()));
  }
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/**
 * For a file of token tests: `wx`, a fake platform started before its tests (faults and the
 * neighbouring system stopped after each test), and `newPool(tokenApi)`, a fresh ClientPool per
 * call (its own token) with that token API; every pool is closed after the file, then the fake.
 */
export function fakeWithClientPools(fakeOptions: FakeWeChatOptions, tokenApi: 'classic' | 'stable') {
  const pools: ClientPool[] = [];
  const wx = perFile(
    () => startFakeWeChat(fakeOptions),
    async (fake) => {
      await Promise.all(pools.map((p) => p.close()));
      await fake.close();
    },
  );
  afterEach(() => {
    wx.faults.clear();
    wx.other.stop();
  });
  const newPool = (api: 'classic' | 'stable' = tokenApi): ClientPool => {
    const pool = new ClientPool({ tokenApi: api });
    pools.push(pool);
    return pool;
  };
  return { wx, newPool };
}
