/**
 * A per-source limit on refused pushes: a source (IP address) whose pushes were refused
 * WX_FAILURE_LIMIT times within a minute is answered 429 at once, before its signature is even
 * computed, until the minute is over. WeChat's own pushes are never refused, so only forgers and
 * broken senders reach the limit; a flood of forged pushes then costs one Map lookup each.
 *
 * The source is the connection's address. Behind reverse proxies every push comes from the proxy:
 * WX_TRUSTED_PROXY_HOPS (how many proxies we run) says which X-Forwarded-For entry is the client
 * (the one our outermost proxy appended). Entries further left are the client's to forge, so they
 * are never used; with 0 hops the header is ignored.
 *
 * Per process and in memory (no Redis round trip on the hot path), bounded in size.
 */
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { errorFamily } from '../errors.ts';

export class TooManyFailuresError extends errorFamily(429, true, 'too_many_failures') {}

const WINDOW_MS = 60_000;
/** Sources tracked at once; the oldest window is dropped first when more arrive. */
const MAX_SOURCES = 50_000;

export interface FailureLimit {
  /** Throws TooManyFailuresError when the request's source is over the limit. */
  check(c: Context): void;
  /** Counts one refused request of the request's source. */
  fail(c: Context): void;
}

/** The client address: the socket's, or the X-Forwarded-For entry `hops` from the right. */
export function sourceOf(c: Context, hops: number): string | undefined {
  if (hops > 0) {
    const forwarded = c.req.header('x-forwarded-for');
    if (forwarded) {
      const entries = forwarded.split(',').map((e) => e.trim());
      const entry = entries[entries.length - hops];
      if (entry) return entry.slice(0, 64);
    }
  }
  return (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket?.remoteAddress;
}

export function createFailureLimit(options: { limit: number; trustedProxyHops: number }): FailureLimit {
  const { limit, trustedProxyHops } = options;
  const windows = new Map<string, { start: number; count: number }>();
  const current = (source: string, now: number) => {
    const w = windows.get(source);
    if (w && now - w.start < WINDOW_MS) return w;
    if (w) windows.delete(source);
    return undefined;
  };
  /** The request's source and its current window; undefined when the limit is off or the source unknown. */
  const tracked = (c: Context) => {
    if (limit <= 0) return undefined;
    const source = sourceOf(c, trustedProxyHops);
    if (source === undefined) return undefined;
    const now = Date.now();
    return { source, now, w: current(source, now) };
  };
  return {
    check(c) {
      const t = tracked(c);
      if (t?.w && t.w.count >= limit) {
        c.header('Retry-After', String(Math.ceil((t.w.start + WINDOW_MS - t.now) / 1000)));
        throw new TooManyFailuresError('too many refused pushes from this address: try again later');
      }
    },
    fail(c) {
      const t = tracked(c);
      if (!t) return;
      const { source, now, w } = t;
      if (w) {
        w.count++;
        return;
      }
      // Maps iterate in insertion order: the first key is the oldest window.
      if (windows.size >= MAX_SOURCES) windows.delete(windows.keys().next().value as string);
      windows.set(source, { start: now, count: 1 });
    },
  };
}
