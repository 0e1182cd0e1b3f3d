/**
 * Admin authentication: `Authorization: Bearer <ADMIN_TOKEN>` for API clients and Prometheus, or a
 * session cookie for browsers (the dashboard and bull-board cannot send a bearer header).
 *
 * The cookie never holds the token itself: it holds `<issued-at>.<HMAC-SHA256(ADMIN_TOKEN, issued-at)>`,
 * so a leaked cookie expires (SESSION_TTL_S) and rotating ADMIN_TOKEN logs every browser out.
 * HttpOnly (no script reads it), SameSite=Strict (no cross-site request carries it: CSRF) and
 * Path=/admin. Every comparison is constant-time.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { AuthError } from '../../errors.ts';

export const SESSION_COOKIE = 'wxsync_admin';
export const SESSION_TTL_S = 12 * 3600;

/** Constant-time string equality (digests first, so lengths never leak through timing). */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

function sign(adminToken: string, issuedAt: number): string {
  return createHmac('sha256', adminToken).update(`wxsync-admin-session:${issuedAt}`).digest('base64url');
}

/** A fresh session cookie value for `adminToken`. */
export function issueSession(adminToken: string, now = Date.now()): string {
  const issuedAt = Math.floor(now / 1000);
  return `${issuedAt}.${sign(adminToken, issuedAt)}`;
}

/** Whether `value` is a session cookie issued for `adminToken` that has not expired. */
export function verifySession(adminToken: string, value: string | undefined, now = Date.now()): boolean {
  if (!value) return false;
  const match = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!match) return false;
  const issuedAt = Number(match[1]);
  const age = Math.floor(now / 1000) - issuedAt;
  if (age < -60 || age > SESSION_TTL_S) return false;
  return safeEqual(match[2]!, sign(adminToken, issuedAt));
}

/** The bearer token of the request, if it sent one. */
function bearer(c: Context): string | undefined {
  const header = c.req.header('authorization');
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
}

export function isAuthenticated(c: Context, adminToken: string): boolean {
  const token = bearer(c);
  if (token !== undefined) return safeEqual(token, adminToken);
  return verifySession(adminToken, getCookie(c, SESSION_COOKIE));
}

/**
 * Requires the bearer token or a valid session cookie. A browser asking for a page (GET, Accept:
 * text/html) without either gets `onUnauthenticatedPage` (the login form, status 401); everything
 * else gets AuthError (401 through the app's onError).
 */
export function requireAdmin(
  adminToken: string,
  onUnauthenticatedPage?: (c: Context) => Response | Promise<Response>,
): MiddlewareHandler {
  return async (c, next) => {
    if (isAuthenticated(c, adminToken)) return next();
    c.header('WWW-Authenticate', 'Bearer realm="wxsync-admin"');
    const wantsPage = c.req.method === 'GET' && (c.req.header('accept') ?? '').includes('text/html');
    if (wantsPage && onUnauthenticatedPage) return onUnauthenticatedPage(c);
    throw new AuthError(
      'admin routes need "Authorization: Bearer <ADMIN_TOKEN>" (or log in at /admin/login)',
    );
  };
}
