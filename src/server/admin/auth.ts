/**
 * Admin authentication: `Authorization: Bearer <ADMIN_TOKEN>` for API clients and Prometheus, or a
 * session cookie for browsers (the dashboard and bull-board cannot send a bearer header).
 *
 * The cookie never holds the token itself: it holds `<issued-at>.<session id>.<HMAC-SHA256(ADMIN_TOKEN,
 * issued-at.session id)>`, so a leaked cookie expires (SESSION_TTL_S) and rotating ADMIN_TOKEN logs
 * every browser out. Logging out revokes the session server-side: its id is kept in Redis until
 * the cookie would have expired anyway, and a revoked cookie no longer authenticates (a copy of it
 * taken before the logout included). HttpOnly (no script reads it), SameSite=Strict and Path=/admin;
 * state-changing requests also pass the same-origin check below. Every comparison is constant-time.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import type { Redis } from 'ioredis';
import { AuthError, errorFamily, UnavailableError } from '../../errors.ts';

export const SESSION_COOKIE = 'wxsync_admin';
export const SESSION_TTL_S = 12 * 3600;

/** A cross-site (or otherwise foreign-origin) state-changing request: 403. */
export class ForbiddenError extends errorFamily(403, false, 'forbidden') {}

/** Constant-time string equality (digests first, so lengths never leak through timing). */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

const COOKIE_FORM = /^(\d{1,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

export interface Sessions {
  /** A fresh session cookie value. */
  issue(now?: number): string;
  /** Whether `value` is a cookie we issued, not expired and not revoked (UnavailableError: Redis down). */
  verify(value: string | undefined, now?: number): Promise<boolean>;
  /** Revokes the session of `value` (a no-op for a value that is no valid session). */
  revoke(value: string | undefined, now?: number): Promise<void>;
}

/** Sessions signed with `adminToken`, revocations kept in Redis under `<prefix>:admin-revoked:<id>`. */
export function createSessions(adminToken: string, redis: Redis, prefix: string): Sessions {
  const sign = (issuedAt: string, id: string) =>
    createHmac('sha256', adminToken).update(`wxsync-admin-session:${issuedAt}.${id}`).digest('base64url');
  /** The session's id and remaining lifetime, when `value` is a valid unexpired cookie. */
  const parse = (value: string | undefined, now: number) => {
    const match = value ? COOKIE_FORM.exec(value) : null;
    if (!match) return undefined;
    const [, issuedAt = '', id = '', mac = ''] = match;
    const age = Math.floor(now / 1000) - Number(issuedAt);
    if (age < -60 || age > SESSION_TTL_S) return undefined;
    if (!safeEqual(mac, sign(issuedAt, id))) return undefined;
    return { id, remainingS: Math.max(1, SESSION_TTL_S - age) };
  };
  const revokedKey = (id: string) => `${prefix}:admin-revoked:${id}`;
  return {
    issue(now = Date.now()) {
      const issuedAt = String(Math.floor(now / 1000));
      const id = randomBytes(16).toString('base64url');
      return `${issuedAt}.${id}.${sign(issuedAt, id)}`;
    },
    async verify(value, now = Date.now()) {
      const session = parse(value, now);
      if (!session) return false;
      try {
        return (await redis.exists(revokedKey(session.id))) === 0;
      } catch (error) {
        // Fail closed: a session whose revocation cannot be checked is not trusted.
        throw new UnavailableError('cannot check the admin session (Redis unavailable)', { cause: error });
      }
    },
    async revoke(value, now = Date.now()) {
      const session = parse(value, now);
      if (!session) return;
      await redis.set(revokedKey(session.id), '1', 'EX', session.remainingS);
    },
  };
}

/** The bearer token of the request, if it sent one. */
function bearer(c: Context): string | undefined {
  const header = c.req.header('authorization');
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
}

/** Whether the request carries the admin bearer token (API clients, Prometheus, /readyz detail). */
export function hasAdminBearer(c: Context, adminToken: string): boolean {
  const token = bearer(c);
  return token !== undefined && safeEqual(token, adminToken);
}

/** How a request authenticated: `bearer`, `session`, or undefined (it did not). */
export async function authenticate(
  c: Context,
  adminToken: string,
  sessions: Sessions,
): Promise<'bearer' | 'session' | undefined> {
  const token = bearer(c);
  if (token !== undefined) return safeEqual(token, adminToken) ? 'bearer' : undefined;
  return (await sessions.verify(getCookie(c, SESSION_COOKIE))) ? 'session' : undefined;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses a state-changing request that a browser says comes from another site. SameSite=Strict
 * keeps the cookie off cross-site requests in current browsers; this does not rely on it:
 * `Sec-Fetch-Site` must be same-origin (or none: typed by the user), and `Origin`, when sent, must
 * be this server's own origin. A request with neither header comes from no browser (curl, an API
 * client): it can only authenticate with the bearer token, which no other site can make a browser send.
 */
export function checkSameOrigin(c: Context): void {
  if (SAFE_METHODS.has(c.req.method)) return;
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw new ForbiddenError(`cross-site request refused (Sec-Fetch-Site: ${site.slice(0, 20)})`);
  }
  const origin = c.req.header('origin');
  if (origin === undefined) return;
  // The request's own host, as the listener saw it (@hono/node-server builds the URL from Host; a
  // reverse proxy must pass Host through: README's nginx snippet does).
  const host = new URL(c.req.url).host;
  let originHost: string | undefined;
  try {
    originHost = origin === 'null' ? undefined : new URL(origin).host;
  } catch {
    originHost = undefined;
  }
  if (originHost !== host) {
    throw new ForbiddenError('request from another origin refused');
  }
}

/**
 * Requires the bearer token or a valid session cookie, and the same-origin check on every
 * state-changing request. A browser asking for a page (GET, Accept: text/html) without either
 * gets `onUnauthenticatedPage` (the login form, status 401); everything else gets AuthError (401
 * through the app's onError).
 */
export function requireAdmin(
  adminToken: string,
  sessions: Sessions,
  onUnauthenticatedPage?: (c: Context) => Response | Promise<Response>,
): MiddlewareHandler {
  return async (c, next) => {
    checkSameOrigin(c);
    if ((await authenticate(c, adminToken, sessions)) !== undefined) return next();
    c.header('WWW-Authenticate', 'Bearer realm="wxsync-admin"');
    const wantsPage = c.req.method === 'GET' && (c.req.header('accept') ?? '').includes('text/html');
    if (wantsPage && onUnauthenticatedPage) return onUnauthenticatedPage(c);
    throw new AuthError(
      'admin routes need "Authorization: Bearer <ADMIN_TOKEN>" (or log in at /admin/login)',
    );
  };
}

/** Bearer only (for /metrics: Prometheus sends the token; no cookie reaches `/metrics` anyway). */
export function requireAdminBearer(adminToken: string): MiddlewareHandler {
  return async (c, next) => {
    if (hasAdminBearer(c, adminToken)) return next();
    c.header('WWW-Authenticate', 'Bearer realm="wxsync-admin"');
    throw new AuthError('/metrics needs "Authorization: Bearer <ADMIN_TOKEN>"');
  };
}
