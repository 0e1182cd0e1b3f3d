/** The shared access_token: one fetch for many processes, transparent recovery, refresh before expiry; the shared rate limit; no secret in logs. */
import { describe, expect, it } from 'vitest';
import { WeChatApiError, WeChatTransportError } from '../../src/wechat/errors.ts';
import { getApiDomainIp } from '../../src/wechat/platform.ts';
import { RateLimiter } from '../../src/wechat/rate-limit.ts';
import { getUserInfo } from '../../src/wechat/users.ts';
import { TEST_WECHAT } from '../support/env.ts';
import { captureLog, fakeWithClientPools } from '../support/wechat-clients.ts';

/**
 * A fresh key prefix per pool: its clients share one token among themselves only. These tests pin
 * the classic /cgi-bin/token path (a new token per fetch); stable-token.test.ts covers the default.
 */
const { wx, newPool } = fakeWithClientPools({ seed: 5, followers: 50 }, 'classic');

describe('shared access_token', () => {
  it('20 concurrent callers in 3 independent clients (own Redis connections) cause exactly one /cgi-bin/token call', async () => {
    const pool = newPool();
    const { log } = captureLog();
    const clients = [pool.client(wx.url, log), pool.client(wx.url, log), pool.client(wx.url, log)];
    // Slow token answers widen the race window: everyone arrives while the first fetch is in flight.
    wx.faults.set('token', { latencyMs: 150 });
    const before = wx.calls.count('token');
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => getApiDomainIp(clients[i % 3]!)));
    expect(results).toHaveLength(20);
    expect(wx.calls.count('token') - before).toBe(1);
    const stored = await clients[0]!.tokens.read();
    expect(stored?.token).toBeTruthy();
    // Each client reads the same stored token.
    expect((await clients[1]!.tokens.get()) === stored!.token).toBe(true);
    expect(wx.calls.count('token') - before).toBe(1);
  });

  it('a token invalidated behind our back is recovered transparently, with one refresh for 20 concurrent callers', async () => {
    const pool = newPool();
    const { log } = captureLog();
    const clients = [pool.client(wx.url, log), pool.client(wx.url, log), pool.client(wx.url, log)];
    await getApiDomainIp(clients[0]!);
    const first = (await clients[0]!.tokens.read())!.token;
    const tokensBefore = wx.calls.count('token');

    wx.faults.expireTokenNow();
    const openid = wx.state.followerOpenids()[0]!;
    const infos = await Promise.all(
      Array.from({ length: 20 }, (_, i) => getUserInfo(clients[i % 3]!, openid)),
    );
    expect(infos.every((u) => u.openid === openid)).toBe(true);
    expect(wx.calls.count('token') - tokensBefore).toBe(1);
    const second = (await clients[0]!.tokens.read())!.token;
    expect(second).not.toBe(first);
  });

  it('retries a rejected token only once: a 40001 that persists is thrown, not looped on', async () => {
    const pool = newPool();
    const client = pool.client(wx.url, captureLog().log);
    await getApiDomainIp(client);
    const tokensBefore = wx.calls.count('token');
    const callsBefore = wx.calls.count('get_api_domain_ip');
    wx.faults.set('get_api_domain_ip', { errcode: 40001, errorRate: 1 });
    const error = await getApiDomainIp(client).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeChatApiError);
    expect((error as WeChatApiError).errcode).toBe(40001);
    expect(wx.calls.count('get_api_domain_ip') - callsBefore).toBe(2);
    expect(wx.calls.count('token') - tokensBefore).toBe(1);
  });

  it('an expired stored token is refreshed before use (WeChat never sees the stale one)', async () => {
    const pool = newPool();
    const client = pool.client(wx.url, captureLog().log);
    await getApiDomainIp(client);
    const old = (await client.tokens.read())!;
    // WeChat's side expires every token; our stored record says it is expired too.
    wx.faults.expireTokenNow();
    const redis = pool.redis();
    await redis.set(
      client.tokens.key,
      JSON.stringify({ ...old, expiresAt: Date.now() - 1000, refreshAt: Date.now() - 2000 }),
    );
    const tokensBefore = wx.calls.count('token');
    const callsBefore = wx.calls.count('get_api_domain_ip');
    await getApiDomainIp(client);
    expect(wx.calls.count('token') - tokensBefore).toBe(1);
    // One call: no round trip with the stale token and a 40001.
    expect(wx.calls.count('get_api_domain_ip') - callsBefore).toBe(1);
    expect((await client.tokens.read())!.token).not.toBe(old.token);
  });

  it('a token inside the refresh margin is refreshed before use', async () => {
    const pool = newPool();
    const client = pool.client(wx.url, captureLog().log, { refreshMarginS: 300 });
    await getApiDomainIp(client);
    const stored = (await client.tokens.read())!;
    // WeChat issues 7200 s tokens: due for refresh 300 s before expiry.
    expect(stored.expiresAt - stored.refreshAt).toBe(300_000);
    const redis = pool.redis();
    await redis.set(client.tokens.key, JSON.stringify({ ...stored, refreshAt: Date.now() - 1 }));
    const tokensBefore = wx.calls.count('token');
    await getApiDomainIp(client);
    expect(wx.calls.count('token') - tokensBefore).toBe(1);
    const fresh = (await client.tokens.read())!;
    expect(fresh.token).not.toBe(stored.token);
    expect(fresh.refreshAt).toBeGreaterThan(Date.now());
  });

  it('invalidate() deletes only the failing token, never a newer one', async () => {
    const pool = newPool();
    const client = pool.client(wx.url, captureLog().log);
    const token = await client.tokens.get();
    expect(await client.tokens.invalidate('some-older-token')).toBe(false);
    expect((await client.tokens.read())?.token).toBe(token);
    expect(await client.tokens.invalidate(token)).toBe(true);
    expect(await client.tokens.read()).toBeUndefined();
  });

  it('a transient failure of the token fetch is retried; the lock is released for the next attempt', async () => {
    const pool = newPool();
    const client = pool.client(wx.url, captureLog().log);
    wx.faults.set('token', { errcode: -1, errorRate: 1 });
    const error = await getApiDomainIp(pool.client(wx.url, captureLog().log, { maxAttempts: 2 })).catch(
      (e: unknown) => e,
    );
    expect((error as WeChatApiError).errcode).toBe(-1);
    expect((error as WeChatApiError).endpoint).toBe('/cgi-bin/token');
    expect(await pool.redis().exists(client.tokens.lockKey)).toBe(0);
    wx.faults.clear();
    expect((await getApiDomainIp(client)).length).toBeGreaterThan(0);
  });
});

describe('shared rate limit', () => {
  it('admits at most perSecond requests per Redis-clock second over several processes', async () => {
    const pool = newPool();
    const key = `${pool.prefix}:wechat:rate:test`;
    const limiters = [0, 1, 2].map(() => new RateLimiter({ redis: pool.redis(), key, perSecond: 4 }));
    const seconds = await Promise.all(Array.from({ length: 10 }, (_, i) => limiters[i % 3]!.acquire()));
    const perSecond = new Map<number, number>();
    for (const s of seconds) perSecond.set(s, (perSecond.get(s) ?? 0) + 1);
    expect([...perSecond.values()].reduce((a, b) => a + b, 0)).toBe(10);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(4);
    expect(perSecond.size).toBeGreaterThanOrEqual(3);
  });
});

describe('secrets', () => {
  it.each(['classic', 'stable'] as const)(
    'no AppSecret and no access_token in any log line or error message (%s)',
    async (api) => {
      const pool = newPool(api);
      const { log, lines } = captureLog();
      const client = pool.client(wx.url, log, { maxAttempts: 3 });
      const tokens = new Set<string>();
      const errors: unknown[] = [];
      const remember = async () => {
        const stored = await client.tokens.read();
        if (stored) tokens.add(stored.token);
      };
      const attempt = async (fn: () => Promise<unknown>) => {
        try {
          await fn();
        } catch (e) {
          errors.push(e);
        }
        await remember();
      };

      await attempt(() => getApiDomainIp(client));
      wx.faults.expireTokenNow(); // 40001 -> invalidate -> refresh
      await attempt(() => getApiDomainIp(client));
      for (const rule of [
        { http502Rate: 1 },
        { dropRate: 1 },
        { truncateRate: 1 },
        { nonJsonRate: 1 },
        { errcode: -1, errorRate: 1 },
        { errcode: 40164, errorRate: 1 },
        { errcode: 40001, errorRate: 1 },
      ]) {
        wx.faults.set('get_api_domain_ip', rule);
        await attempt(() => getApiDomainIp(client));
      }
      wx.faults.clear();
      const slow = pool.client(wx.url, log, { timeoutMs: 50, maxAttempts: 1 });
      wx.faults.set('get_api_domain_ip', { latencyMs: 200 });
      await attempt(() => getApiDomainIp(slow));
      wx.faults.clear();
      const wrong = pool.client(wx.url, log, {
        appSecret: 'wrongsecret0123456789abcdef01234',
        keyPrefix: `${pool.prefix}-wrong`,
      });
      await attempt(() => getApiDomainIp(wrong));
      const nowhere = pool.client('http://127.0.0.1:1', log, {
        keyPrefix: `${pool.prefix}-nowhere`,
        maxAttempts: 1,
      });
      await attempt(() => getApiDomainIp(nowhere));

      // The run did exercise what we scan: refreshes, retries, every failure family.
      expect(tokens.size).toBeGreaterThanOrEqual(3);
      expect(errors.length).toBe(10);
      expect(errors.some((e) => e instanceof WeChatTransportError && e.kind === 'timeout')).toBe(true);
      expect(lines.some((l) => l.includes('retrying'))).toBe(true);
      expect(lines.some((l) => l.includes('access_token refreshed'))).toBe(true);

      const texts = [
        ...lines,
        ...errors.flatMap((e) => [
          String(e),
          (e as Error).stack ?? '',
          JSON.stringify(e),
          JSON.stringify((e as Error).cause ?? null),
        ]),
      ];
      const secrets = [TEST_WECHAT.WECHAT_APP_SECRET, 'wrongsecret0123456789abcdef01234', ...tokens];
      for (const text of texts) {
        for (const secret of secrets) expect(text).not.toContain(secret);
        expect(text).not.toMatch(/access_token=(?!\[redacted\])[^&\s"]/);
        expect(text).not.toMatch(/secret=(?!\[redacted\])[^&\s"]/);
      }
    },
  );
});
