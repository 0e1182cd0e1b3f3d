/**
 * The account's access_token, shared by every wxsync process and host through Redis.
 *
 * Why shared: WeChat invalidates the previous token (after a ~5 minute overlap) whenever a new one is
 * fetched, and the daily fetch quota is small (2,000). N processes each fetching their own would
 * knock each other's tokens out and burn the quota, so exactly one process refreshes, under a
 * Redis lock, and the others reuse its result.
 *
 * Two token APIs (WECHAT_TOKEN_API): `stable` (default, /cgi-bin/stable_token) hands every caller
 * the same token while it is valid, so our fetches never knock out the token of the owner's other
 * systems (nor theirs ours); `classic` (/cgi-bin/token) issues a new token per fetch. Sharing one
 * fetch per fleet is right for both: it spares the quota and the neighbours.
 *
 * Recovery (`recover`) after WeChat rejects a token (40001/40014/42001): drop it, ask again in
 * normal mode (one fetch for the fleet); only when stable_token hands back the very token that
 * failed, ONE `force_refresh` for the whole fleet, under its own lock, at most once per 30 s and
 * never beyond the daily allowance (counted in Redis per Beijing day), then give up: never a loop.
 *
 * Layout: `${keyPrefix}:wechat:token:${appId}` (classic) or `...:${appId}:stable` holds JSON
 * `{token, expiresAt, refreshAt}` (epoch ms) with a TTL of the token's lifetime; `:lock` is the
 * refresh lock (SET NX PX, released only by its holder through a compare-and-delete script);
 * `:force-lock`, `:forced-recently` (30 s) and `:forced:<beijing day>` guard forced refreshes.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { beijingDayNumber } from '../calendar.ts';
import type { Log } from '../logger.ts';
import { forcedTokenRefreshes, tokenRefreshes } from '../metrics.ts';
import { WeChatTransportError } from './errors.ts';
import { sleep } from './util.ts';

export interface StoredToken {
  token: string;
  /** Epoch ms at which WeChat stops accepting it. */
  expiresAt: number;
  /** Epoch ms from which it is due for refresh (expiresAt - margin). */
  refreshAt: number;
}

export interface FetchedToken {
  accessToken: string;
  expiresInS: number;
}

export type TokenApi = 'stable' | 'classic';

/** WeChat's limits on stable_token force_refresh: 20 a day, 30 s apart. */
export const FORCE_REFRESH_DAILY_MAX = 20;
export const FORCE_REFRESH_MIN_INTERVAL_MS = 30_000;

export interface TokenStoreOptions {
  redis: Redis;
  /** Which token API `fetchToken` calls (part of the key: the two kinds are separate tokens). */
  api: TokenApi;
  log: Log;
  appId: string;
  keyPrefix: string;
  /** Refresh this many seconds before expiry (capped at half the token's lifetime). */
  refreshMarginS: number;
  /** Fetches a token once in normal mode (one HTTP attempt; the caller's retry loop handles transient failures). */
  fetchToken: () => Promise<FetchedToken>;
  /** stable_token with force_refresh: true. Absent for classic (a classic fetch is always new). */
  forceRefresh?: () => Promise<FetchedToken>;
  /** Forced refreshes this fleet may spend per Beijing day (at most WeChat's 20). Default 20. */
  forceRefreshDailyMax?: number;
  /** How long the refresh lock lives if its holder dies mid-refresh. */
  lockTtlMs: number;
  /** Poll interval while another process refreshes. */
  pollMs?: number;
  now?: () => number;
}

/** Deletes KEYS[1] only when it still holds ARGV[1] (a lock release by its owner). */
const RELEASE_LOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/** Deletes the stored token only when it is still the failing one: a newer token must survive. */
const INVALIDATE = `
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local ok, stored = pcall(cjson.decode, raw)
if (not ok) or stored.token == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export class TokenStore {
  readonly key: string;
  readonly lockKey: string;
  private readonly forceLockKey: string;
  private readonly forcedRecentlyKey: string;
  private readonly pollMs: number;
  private readonly now: () => number;

  constructor(private readonly options: TokenStoreOptions) {
    const base = `${options.keyPrefix}:wechat:token:${options.appId}`;
    // Classic keeps the key it always had, so a running fleet keeps its token across the upgrade.
    this.key = options.api === 'classic' ? base : `${base}:stable`;
    this.lockKey = `${this.key}:lock`;
    this.forceLockKey = `${this.key}:force-lock`;
    this.forcedRecentlyKey = `${this.key}:forced-recently`;
    this.pollMs = options.pollMs ?? 25;
    this.now = options.now ?? Date.now;
  }

  /** The stored token record, or undefined when none (or an unreadable one) is stored. */
  async read(): Promise<StoredToken | undefined> {
    const raw = await this.options.redis.get(this.key);
    if (!raw) return undefined;
    try {
      const parsed = JSON.parse(raw) as Partial<StoredToken>;
      if (typeof parsed.token !== 'string' || typeof parsed.expiresAt !== 'number') return undefined;
      return {
        token: parsed.token,
        expiresAt: parsed.expiresAt,
        refreshAt: parsed.refreshAt ?? parsed.expiresAt,
      };
    } catch {
      return undefined;
    }
  }

  /**
   * A token usable right now. Fresh stored token: returned at once. Due for refresh but still
   * valid: one process refreshes, the others keep using the valid one meanwhile. Missing or expired:
   * one process refreshes, the others poll until its result appears (or its lock times out).
   */
  async get(): Promise<string> {
    const deadline = this.now() + 2 * this.options.lockTtlMs + 1000;
    for (;;) {
      const stored = await this.read();
      const now = this.now();
      if (stored && now < stored.refreshAt) return stored.token;

      const refreshed = await this.underLock(this.lockKey, async () => {
        // Someone may have refreshed between our read and our lock.
        const again = await this.read();
        if (again && this.now() < again.refreshAt) return again.token;
        return this.refresh();
      });
      if (refreshed.held) return refreshed.value;
      // Another process is refreshing. A still-valid token is good enough until it is done.
      if (stored && now < stored.expiresAt) return stored.token;
      if (this.now() > deadline) {
        throw new WeChatTransportError(
          this.options.api === 'classic' ? '/cgi-bin/token' : '/cgi-bin/stable_token',
          'token_wait',
          'timed out waiting for the shared access_token refresh',
        );
      }
      await sleep(this.pollMs + Math.floor(Math.random() * this.pollMs));
    }
  }

  /**
   * Drops the stored token if it is still `failingToken` (WeChat said 40001/40014/42001 about it).
   * Returns whether it was dropped; false means another process already replaced it.
   */
  async invalidate(failingToken: string): Promise<boolean> {
    const removed = await this.options.redis.eval(INVALIDATE, 1, this.key, failingToken);
    return removed === 1;
  }

  /**
   * After WeChat rejected `failingToken`: a token worth one more try, or undefined when there is
   * none (the caller then throws WeChat's error). Drops the failing token, asks again in normal mode
   * (shared: one fetch for the fleet); if that hands back the very same token (stable_token keeps
   * returning a token the APIs refuse), one forced refresh for the whole fleet, within WeChat's limits.
   */
  async recover(failingToken: string): Promise<string | undefined> {
    await this.invalidate(failingToken);
    const fresh = await this.get();
    if (fresh !== failingToken) return fresh;
    if (!this.options.forceRefresh) return undefined;
    return this.forceRefreshOnce(failingToken);
  }

  /** Runs `fn` holding the lock `key` (SET NX PX; released by its holder only), or says another process holds it. */
  private async underLock<T>(
    key: string,
    fn: () => Promise<T>,
  ): Promise<{ held: true; value: T } | { held: false }> {
    const lockValue = randomUUID();
    const locked = await this.options.redis.set(key, lockValue, 'PX', this.options.lockTtlMs, 'NX');
    if (locked !== 'OK') return { held: false };
    try {
      return { held: true, value: await fn() };
    } finally {
      await this.options.redis.eval(RELEASE_LOCK, 1, key, lockValue);
    }
  }

  /** Forced refreshes counted today (Beijing day) by this fleet. */
  async forcedToday(): Promise<number> {
    return Number((await this.options.redis.get(this.forcedDayKey())) ?? 0);
  }

  private forcedDayKey(): string {
    return `${this.key}:forced:${beijingDayNumber(this.now())}`;
  }

  /** One process forces; the others wait for its result (any stored token other than the failing one). */
  private async forceRefreshOnce(failingToken: string): Promise<string | undefined> {
    const deadline = this.now() + 2 * this.options.lockTtlMs + 1000;
    for (;;) {
      const stored = await this.read();
      if (stored && stored.token !== failingToken && this.now() < stored.expiresAt) return stored.token;
      const forced = await this.underLock(this.forceLockKey, async () => {
        const again = await this.read();
        if (again && again.token !== failingToken && this.now() < again.expiresAt) return again.token;
        return this.forcedFetch();
      });
      if (forced.held) return forced.value;
      if (this.now() > deadline) return undefined;
      await sleep(this.pollMs + Math.floor(Math.random() * this.pollMs));
    }
  }

  /** The forced fetch itself, under the force lock: the 30 s guard, then the daily count, then WeChat. */
  private async forcedFetch(): Promise<string | undefined> {
    const log = this.options.log;
    const recent = await this.options.redis.set(
      this.forcedRecentlyKey,
      String(this.now()),
      'PX',
      FORCE_REFRESH_MIN_INTERVAL_MS,
      'NX',
    );
    if (recent !== 'OK') {
      forcedTokenRefreshes.inc({ outcome: 'suppressed_interval' });
      log.warn(
        { appId: this.options.appId },
        'stable_token keeps returning a rejected access_token; a forced refresh was made less than 30 s ago, not forcing another',
      );
      return undefined;
    }
    const dayKey = this.forcedDayKey();
    const [[, count]] = (await this.options.redis
      .multi()
      .incr(dayKey)
      .pexpire(dayKey, 2 * 86_400_000)
      .exec()) as [[null, number], [null, number]];
    const max = Math.min(
      this.options.forceRefreshDailyMax ?? FORCE_REFRESH_DAILY_MAX,
      FORCE_REFRESH_DAILY_MAX,
    );
    if (count > max) {
      forcedTokenRefreshes.inc({ outcome: 'suppressed_daily' });
      log.error(
        { appId: this.options.appId, forcedToday: count - 1, max },
        'stable_token keeps returning a rejected access_token and the daily allowance of forced refreshes is used up',
      );
      return undefined;
    }
    try {
      const token = await this.store(await this.options.forceRefresh!());
      forcedTokenRefreshes.inc({ outcome: 'refreshed' });
      log.warn(
        { appId: this.options.appId, forcedToday: count, max },
        'stable_token returned the access_token WeChat had just rejected: forced a refresh (force_refresh: true)',
      );
      return token;
    } catch (error) {
      forcedTokenRefreshes.inc({ outcome: 'failed' });
      log.error(
        { appId: this.options.appId, reason: error instanceof Error ? error.message : String(error) },
        'forced access_token refresh failed',
      );
      return undefined;
    }
  }

  private async refresh(): Promise<string> {
    return this.store(await this.options.fetchToken());
  }

  /** Stores a fetched token for the fleet and returns it. */
  private async store({ accessToken, expiresInS }: FetchedToken): Promise<string> {
    tokenRefreshes.inc({ api: this.options.api });
    const lifetimeMs = Math.max(1, expiresInS) * 1000;
    // A margin longer than the lifetime (short-lived tokens, tests) would make every read refresh.
    const marginMs = Math.min(this.options.refreshMarginS * 1000, lifetimeMs / 2);
    const fetchedAt = this.now();
    const record: StoredToken = {
      token: accessToken,
      expiresAt: fetchedAt + lifetimeMs,
      refreshAt: fetchedAt + lifetimeMs - marginMs,
    };
    await this.options.redis.set(this.key, JSON.stringify(record), 'PX', lifetimeMs);
    this.options.log.info(
      { appId: this.options.appId, api: this.options.api, expiresInS },
      'wechat access_token refreshed',
    );
    return accessToken;
  }
}
