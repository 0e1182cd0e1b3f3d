import { randomBytes } from 'node:crypto';
import { beijingDayNumber } from '../calendar.ts';

export interface TokenStoreOptions {
  ttlS: number;
  /** Seconds the previous classic token keeps working after a new one is issued (WeChat: 5 minutes). */
  overlapS: number;
  now: () => number;
}

export type TokenCheck = 'ok' | 'missing' | 'invalid';
export type TokenKind = 'classic' | 'stable';

/** WeChat renews a stable token this long before it expires; old and new both work meanwhile. */
export const STABLE_RENEW_BEFORE_S = 300;
/** force_refresh: at most 20 a day (Beijing calendar) and 30 s apart (api_getstableaccesstoken). */
export const FORCE_REFRESH_DAILY_MAX = 20;
export const FORCE_REFRESH_INTERVAL_S = 30;

export type ForceRefreshRefusal = 'daily';

interface LiveToken {
  kind: TokenKind;
  expiresAt: number;
}

/**
 * access_tokens as WeChat manages them, two isolated families:
 * - classic (`GET /cgi-bin/token`): each fetch issues a new token and cuts the previous classic
 *   token's life to the overlap window, so processes that fetch their own knock each other out.
 * - stable (`POST /cgi-bin/stable_token`): in normal mode every caller gets the current token while
 *   it is valid; 5 minutes before expiry the next call gets a new one and both work until the old
 *   one expires, so `expires_in` is always >= 300. `force_refresh` invalidates the previous stable
 *   token at once (20 a day; within 30 s of the last one it does not refresh). Fetching one family never touches the other.
 */
export class TokenStore {
  private readonly live = new Map<string, LiveToken>();
  private currentClassic: string | undefined;
  private currentStable: string | undefined;
  /** Tokens the API endpoints refuse although stable_token keeps handing them out (see poisonStable). */
  private readonly poisoned = new Set<string>();
  private forcedDay = -1;
  private forcedToday = 0;
  private lastForcedAt = Number.NEGATIVE_INFINITY;
  issuedCount = 0;
  stableIssuedCount = 0;
  forcedRefreshCount = 0;

  constructor(private readonly options: TokenStoreOptions) {}

  /** A new classic token; the previous classic one keeps working for the overlap only. */
  issue(): { access_token: string; expires_in: number } {
    const now = this.options.now();
    if (this.currentClassic !== undefined) {
      const previous = this.live.get(this.currentClassic);
      if (previous) previous.expiresAt = Math.min(previous.expiresAt, now + this.options.overlapS * 1000);
    }
    const token = this.mint('classic', now);
    this.currentClassic = token;
    this.issuedCount++;
    this.prune(now);
    return { access_token: token, expires_in: this.options.ttlS };
  }

  /** stable_token in normal mode: the current stable token, renewed in its last 5 minutes. */
  stable(): { access_token: string; expires_in: number } {
    const now = this.options.now();
    const current = this.currentStable === undefined ? undefined : this.live.get(this.currentStable);
    const renewAt = (current?.expiresAt ?? 0) - this.renewBeforeMs();
    if (current && this.currentStable !== undefined && now < renewAt) {
      return { access_token: this.currentStable, expires_in: Math.floor((current.expiresAt - now) / 1000) };
    }
    // The previous one (if any) keeps its own expiry: both work during the overlap.
    return this.newStable(now);
  }

  /**
   * stable_token with force_refresh: every earlier stable token stops working now. Under 30 s after
   * the last forced refresh it does not refresh ("否则不会刷新", api_getstableaccesstoken): the current
   * token comes back as in normal mode. Refused when 20 were made today.
   */
  forceStable(): { access_token: string; expires_in: number } | ForceRefreshRefusal {
    const now = this.options.now();
    const day = beijingDayNumber(now);
    if (day !== this.forcedDay) {
      this.forcedDay = day;
      this.forcedToday = 0;
    }
    if (now - this.lastForcedAt < FORCE_REFRESH_INTERVAL_S * 1000) return this.stable();
    if (this.forcedToday >= FORCE_REFRESH_DAILY_MAX) return 'daily';
    this.forcedToday++;
    this.forcedRefreshCount++;
    this.lastForcedAt = now;
    for (const [token, entry] of this.live) if (entry.kind === 'stable') this.live.delete(token);
    return this.newStable(now);
  }

  /** Forced refreshes left today (Beijing calendar). */
  forcedRefreshesLeft(): number {
    return beijingDayNumber(this.options.now()) === this.forcedDay
      ? FORCE_REFRESH_DAILY_MAX - this.forcedToday
      : FORCE_REFRESH_DAILY_MAX;
  }

  check(token: string | undefined | null): TokenCheck {
    if (!token) return 'missing';
    const entry = this.live.get(token);
    if (!entry || entry.expiresAt <= this.options.now() || this.poisoned.has(token)) return 'invalid';
    return 'ok';
  }

  /**
   * The current stable token is refused by every API (40001) while stable_token in normal mode keeps
   * returning it, until a force_refresh replaces it: the state operators report as "getStableAccessToken
   * returns a token that answers 40001", which only a forced refresh cures.
   */
  poisonStable(): boolean {
    if (this.currentStable === undefined || !this.live.has(this.currentStable)) return false;
    this.poisoned.add(this.currentStable);
    return true;
  }

  /** Forced expiry: every token issued so far, of both kinds, stops working now. */
  expireAll(): void {
    this.live.clear();
    this.poisoned.clear();
    this.currentClassic = undefined;
    this.currentStable = undefined;
  }

  liveCount(kind?: TokenKind): number {
    this.prune(this.options.now());
    if (kind === undefined) return this.live.size;
    let n = 0;
    for (const entry of this.live.values()) if (entry.kind === kind) n++;
    return n;
  }

  /** Renewal starts 5 minutes before expiry, or at half the life of a token shorter than 10 minutes. */
  private renewBeforeMs(): number {
    return Math.min(STABLE_RENEW_BEFORE_S, this.options.ttlS / 2) * 1000;
  }

  private newStable(now: number): { access_token: string; expires_in: number } {
    const token = this.mint('stable', now);
    this.currentStable = token;
    this.stableIssuedCount++;
    this.prune(now);
    return { access_token: token, expires_in: this.options.ttlS };
  }

  private mint(kind: TokenKind, now: number): string {
    // WeChat's tokens are ~136-170 characters of [A-Za-z0-9_-]; 96 random bytes make 128.
    const token = randomBytes(96).toString('base64url');
    this.live.set(token, { kind, expiresAt: now + this.options.ttlS * 1000 });
    return token;
  }

  private prune(now: number): void {
    for (const [token, entry] of this.live) {
      if (entry.expiresAt <= now) {
        this.live.delete(token);
        this.poisoned.delete(token);
      }
    }
  }
}
