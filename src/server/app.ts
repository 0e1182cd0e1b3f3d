/**
 * The one wiring factory of the HTTP server: request ids, the access log, metrics, the single
 * error handler and the routes. `wxsync serve` and the tests both call `createApp`.
 *
 * Mount point: other route groups (health and metrics, the admin API and dashboard) are Hono
 * sub-apps passed in `options.mount`, so this file does not depend on them:
 *   createApp(deps, { mount: [['/', healthRoutes(deps)], ['/admin', adminRoutes(deps)]] })
 */
import type { Queue } from 'bullmq';
import { type ErrorHandler, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { WxsyncError } from '../errors.ts';
import type { Log } from '../logger.ts';
import { httpRequests } from '../metrics.ts';
import { type RequestLogVariables, requestLog } from './request-log.ts';
import { wxRoutes } from './wx.ts';

export interface AppDeps {
  config: Config;
  log: Log;
  /** A `request`-role connection (no offline queue): dedupe keys; fails fast while Redis is down. */
  redis: Redis;
  /** Producer of the `events` queue, on the same `request`-role connection. */
  eventsQueue: Queue;
}

export type AppEnv = { Variables: RequestLogVariables };

export interface AppOptions {
  /** Extra route groups, mounted in order after /wx: `[path, subApp]`. */
  // biome-ignore lint/suspicious/noExplicitAny: each sub-app carries its own Env and route schema types
  mount?: Array<[path: string, app: Hono<any, any, any>]>;
}

/**
 * Headers every answer carries, errors and 404s included (set here, after the route, so no route
 * can forget them). nosniff: no browser reads an echoed `echostr` or an error text as HTML. The
 * operator area also refuses framing (clickjacking of its buttons), sends no Referer to other sites (its URLs carry
 * date ranges and openids) and is not cached unless a route says otherwise (its assets do).
 */
function secureHeaders(headers: Headers, path: string): void {
  headers.set('X-Content-Type-Options', 'nosniff');
  if (wantsText(path)) return;
  headers.set('X-Frame-Options', 'DENY');
  // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on our own form posts,
  // which the same-origin check must refuse.
  headers.set('Referrer-Policy', 'same-origin');
  headers.set('Cross-Origin-Resource-Policy', 'same-origin');
  if (!headers.has('Cache-Control')) headers.set('Cache-Control', 'no-store');
}

/** /wx answers plain text (WeChat and its console read it); everything else JSON. */
const wantsText = (path: string) => path === '/wx' || path.startsWith('/wx/');

export function createApp(deps: AppDeps, options: AppOptions = {}): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use(requestId());
  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    secureHeaders(c.res.headers, c.req.path);
    const status = c.res.status;
    // The matched route pattern, not the URL: a bounded label set (openids live in query strings).
    const route = status === 404 && c.req.routePath === '/*' ? 'unmatched' : c.req.routePath;
    httpRequests.inc({ method: c.req.method, route, status: String(status) });
    // An accepted push is counted (above, and wxsync_wx_pushes_total), not logged at info: a
    // campaign brings thousands a second, and a log line cost /wx as much as the rest of the push.
    // Refused pushes are logged by the error handler.
    const level = status < 400 && wantsText(c.req.path) ? 'debug' : 'info';
    if (!deps.log.isLevelEnabled(level)) return;
    // The path only: /wx query strings carry openids and signatures.
    requestLog(c, deps.log)[level](
      { method: c.req.method, path: c.req.path, status, ms: Math.round(performance.now() - started) },
      'request',
    );
  });

  app.route('/wx', wxRoutes(deps));
  for (const [path, sub] of options.mount ?? []) app.route(path, sub);

  app.notFound((c) =>
    wantsText(c.req.path) ? c.text('not found', 404) : c.json({ error: 'not_found' }, 404),
  );

  app.onError(errorHandler(deps.log));

  return app;
}

/**
 * The one mapping of errors to HTTP answers, for every app wxsync serves: our error families
 * (status + safe message), Hono's HTTPException, unknown (logged, 500, no detail to the caller).
 */
export function errorHandler(fallbackLog: Log): ErrorHandler<AppEnv> {
  return (error, c) => {
    const log = requestLog(c, fallbackLog);
    const text = wantsText(c.req.path);
    if (error instanceof WxsyncError) {
      const level = error.status >= 500 ? 'error' : 'warn';
      log[level]({ code: error.code, status: error.status, err: error.message }, 'request refused');
      // Our messages are written to be safe to show (no secrets); 5xx keeps them short anyway.
      const message = error.status >= 500 ? error.code : error.message;
      return text
        ? c.text(message, error.status as 400)
        : c.json({ error: error.code, message }, error.status as 400);
    }
    if (error instanceof HTTPException) {
      log.warn({ status: error.status, err: error.message }, 'request refused');
      return error.getResponse();
    }
    log.error({ err: error }, 'unhandled error');
    return text ? c.text('internal error', 500) : c.json({ error: 'internal' }, 500);
  };
}
