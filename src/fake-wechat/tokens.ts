import { randomBytes } from 'node:crypto';

export interface TokenStoreOptions {
  ttlS: number;
  /** Seconds the previous token keeps working after a new one is issued (WeChat: 5 minutes). */
  overlapS: number;
  now: () => number;
}

export type TokenCheck = 'ok' | 'missing' | 'invalid';

/**
 * access_tokens as WeChat manages them: each fetch issues a new token and cuts the previous one's
 * life to the overlap window, so processes that fetch their own tokens knock each other out.
 */
export class TokenStore {
  /** token -> expiry (epoch ms) */
  private readonly live = new Map<string, number>();
  private current: string | undefined;
  issuedCount = 0;

  constructor(private readonly options: TokenStoreOptions) {}

  issue(): { access_token: string; expires_in: number } {
    const now = this.options.now();
    if (this.current !== undefined) {
      const expiry = this.live.get(this.current);
      if (expiry !== undefined)
        this.live.set(this.current, Math.min(expiry, now + this.options.overlapS * 1000));
    }
    const token = randomBytes(96).toString('base64url');
    this.live.set(token, now + this.options.ttlS * 1000);
    this.current = token;
    this.issuedCount++;
    this.prune(now);
    return { access_token: token, expires_in: this.options.ttlS };
  }

  check(token: string | undefined | null): TokenCheck {
    if (!token) return 'missing';
    const expiry = this.live.get(token);
    return expiry !== undefined && expiry > this.options.now() ? 'ok' : 'invalid';
  }

  /** Forced expiry: every token issued so far stops working now (WeChat "invalidated behind our back"). */
  expireAll(): void {
    this.live.clear();
    this.current = undefined;
  }

  liveCount(): number {
    this.prune(this.options.now());
    return this.live.size;
  }

  private prune(now: number): void {
    for (const [token, expiry] of this.live) if (expiry <= now) this.live.delete(token);
  }
}
