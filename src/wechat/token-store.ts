/**
 * The account's access_token, shared by every wxsync process and host through Redis.
 *
 * Why shared: WeChat invalidates the previous token (after a ~5 minute overlap) whenever a new one is
 * fetched, and the daily fetch quota is small (2,000). N processes each fetching their own would
 * knock each other's tokens out and burn the quota, so exactly one process refreshes, under a
 * Redis lock, and the others reuse its result.
 *
 * Layout: `${keyPrefix}:wechat:token:${appId}` holds JSON `{token, expiresAt, refreshAt}` (epoch ms)
 * with a TTL of the token's lifetime; `...:lock` is the refresh lock (SET NX PX, released only by its
 * holder through a compare-and-delete script).
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Log } from '../logger.ts';
import { tokenRefreshes } from '../metrics.ts';
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

export interface TokenStoreOptions {
  redis: Redis;
  log: Log;
  appId: string;
  keyPrefix: string;
  /** Refresh this many seconds before expiry (capped at half the token's lifetime). */
  refreshMarginS: number;
  /** Calls /cgi-bin/token once (one HTTP attempt; the caller's retry loop handles transient failures). */
  fetchToken: () => Promise<FetchedToken>;
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
  private readonly pollMs: number;
  private readonly now: () => number;

  constructor(private readonly options: TokenStoreOptions) {
    this.key = `${options.keyPrefix}:wechat:token:${options.appId}`;
    this.lockKey = `${this.key}:lock`;
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

      const lockValue = randomUUID();
      const locked = await this.options.redis.set(
        this.lockKey,
        lockValue,
        'PX',
        this.options.lockTtlMs,
        'NX',
      );
      if (locked === 'OK') {
        try {
          // Someone may have refreshed between our read and our lock.
          const again = await this.read();
          if (again && this.now() < again.refreshAt) return again.token;
          return await this.refresh();
        } finally {
          await this.options.redis.eval(RELEASE_LOCK, 1, this.lockKey, lockValue);
        }
      }
      // Another process is refreshing. A still-valid token is good enough until it is done.
      if (stored && now < stored.expiresAt) return stored.token;
      if (this.now() > deadline) {
        throw new WeChatTransportError(
          '/cgi-bin/token',
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

  private async refresh(): Promise<string> {
    const { accessToken, expiresInS } = await this.options.fetchToken();
    tokenRefreshes.inc();
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
    this.options.log.info({ appId: this.options.appId, expiresInS }, 'wechat access_token refreshed');
    return accessToken;
  }
}
