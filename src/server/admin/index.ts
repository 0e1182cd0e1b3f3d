/**
 * The admin area, mounted at /admin: the JSON API of the account actions, the growth dashboard, the
 * BullMQ board (/admin/queues), all behind ADMIN_TOKEN (bearer, or the session cookie a browser
 * gets from /admin/login). Also `/metrics`, behind the same bearer (see metricsRoutes).
 *
 * With ADMIN_TOKEN unset none of it is mounted: `operatorRoutes` logs that once at start.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { InputError } from '../../errors.ts';
import { addToBlacklist, listBlacklist, removeFromBlacklist } from '../../ops/blacklist.ts';
import { loadPanel, PANEL_NAMES, panelDefinition } from '../../ops/dashboard.ts';
import type { OpsDeps } from '../../ops/deps.ts';
import { apiDomainIps, shortenUrl } from '../../ops/platform.ts';
import { listSyncRuns, retrySyncRun, triggerSync } from '../../ops/sync.ts';
import { lookupUser, refreshUser } from '../../ops/users.ts';
import { createFailureLimit, sourceOf } from '../failure-limit.ts';
import { healthRoutes } from '../health.ts';
import { asset } from './assets.ts';
import {
  authenticate,
  checkSameOrigin,
  createSessions,
  requireAdmin,
  requireAdminBearer,
  SESSION_COOKIE,
  SESSION_TTL_S,
  safeEqual,
} from './auth.ts';
import { jsonBody, requireJsonType } from './body.ts';
import { toCsv } from './csv.ts';
import { LANG_COOKIE, type Lang, requestLang } from './i18n.ts';
import { metricsText } from './metrics.ts';
import { PAGE_CSP, renderDashboard, renderLogin } from './page.ts';

/** Where adminRoutes is mounted: bull-board and the page's links need absolute paths. */
export const ADMIN_BASE = '/admin';

export type AdminDeps = OpsDeps;

const loginPage = (c: Context, refused = false, status: 200 | 401 = 401) => {
  c.header('Content-Security-Policy', PAGE_CSP);
  return c.html(renderLogin(requestLang(c).lang, refused), status);
};

/** Query parameters the dashboard page passes on to its ranged panels. */
const RANGE_PARAMS = ['from', 'to', 'days'] as const;

const isSecure = (c: Context) =>
  new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';

/** Remembers a language chosen with ?lang= for a year (not a secret: readable, same-site only). */
function rememberLang(c: Context, lang: Lang) {
  setCookie(c, LANG_COOKIE, lang, {
    sameSite: 'Strict',
    secure: isSecure(c),
    path: ADMIN_BASE,
    maxAge: 365 * 86_400,
  });
}

/** The BullMQ board as a Hono sub-app, with basePath set to where it is served. */
function queueBoard(deps: AdminDeps): Hono {
  const serverAdapter = new HonoAdapter(serveStatic).setBasePath(`${ADMIN_BASE}/queues`);
  createBullBoard({
    queues: (deps.queues ?? []).map((q) => new BullMQAdapter(q)),
    // @bull-board/hono 9.10.1 carries its own nested @bull-board/api 9.10.1 beside our 9.10.2: the
    // classes match at run time, only their private fields make the types differ.
    serverAdapter: serverAdapter as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'],
    options: { uiConfig: { boardTitle: 'wxsync queues' } },
  });
  return serverAdapter.registerPlugin() as unknown as Hono;
}

/**
 * The /admin sub-app, or undefined when ADMIN_TOKEN is unset (the caller must then not mount
 * anything: see operatorRoutes).
 */
export function adminRoutes(deps: AdminDeps): Hono | undefined {
  const token = deps.config.ADMIN_TOKEN;
  if (!token) return undefined;
  const app = new Hono();
  const sessions = createSessions(token, deps.redis, deps.config.QUEUE_PREFIX);
  // Guessing the token through the login form: 10 wrong tries a minute per source, then 429.
  const loginFailures = createFailureLimit({
    limit: 10,
    trustedProxyHops: deps.config.WX_TRUSTED_PROXY_HOPS,
  });

  // Login before the guard: the one admin route that works without credentials.
  app.get('/login', async (c) =>
    (await authenticate(c, token, sessions)) !== undefined
      ? c.redirect(`${ADMIN_BASE}/`, 303)
      : loginPage(c, false, 200),
  );
  app.post('/login', bodyLimit({ maxSize: 4096 }), async (c) => {
    // A page of another site must not log this browser in (login CSRF).
    checkSameOrigin(c);
    loginFailures.check(c);
    const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    const given = typeof form.token === 'string' ? form.token : '';
    if (!safeEqual(given, token)) {
      loginFailures.fail(c);
      deps.log.warn({ source: sourceOf(c, deps.config.WX_TRUSTED_PROXY_HOPS) }, 'admin login refused');
      return loginPage(c, true);
    }
    setCookie(c, SESSION_COOKIE, sessions.issue(), {
      httpOnly: true,
      sameSite: 'Strict',
      secure: isSecure(c),
      path: ADMIN_BASE,
      maxAge: SESSION_TTL_S,
    });
    return c.redirect(`${ADMIN_BASE}/`, 303);
  });

  app.use(
    '*',
    requireAdmin(token, sessions, (c) => loginPage(c)),
  );
  app.use(
    '*',
    bodyLimit({
      maxSize: 256 * 1024,
      onError: () => {
        throw new InputError('body too large');
      },
    }),
  );

  app.post('/logout', async (c) => {
    // Revoked server-side: the cookie (and any copy of it) stops working now, not in 12 h.
    await sessions.revoke(getCookie(c, SESSION_COOKIE));
    deleteCookie(c, SESSION_COOKIE, { path: ADMIN_BASE });
    return c.redirect(`${ADMIN_BASE}/login`, 303);
  });

  const dashboardPage = (c: Context) => {
    const { lang, fromQuery } = requestLang(c);
    if (fromQuery) rememberLang(c, lang);
    const query: Record<string, string> = {};
    for (const key of RANGE_PARAMS) {
      const value = c.req.query(key);
      if (value) query[key] = value;
    }
    c.header('Content-Security-Policy', PAGE_CSP);
    c.header('Cache-Control', 'no-store');
    return c.html(renderDashboard({ lang, timeZone: deps.config.CRON_TIMEZONE, query, base: ADMIN_BASE }));
  };
  app.get('/', dashboardPage);
  app.get('/assets/:name', (c) => {
    const found = asset(c.req.param('name'));
    if (!found) return c.json({ error: 'not_found' }, 404);
    c.header('Cache-Control', 'private, max-age=3600');
    return c.body(found.body, 200, { 'Content-Type': found.type });
  });
  // One JSON route per panel, and its CSV: /admin/api/<panel>.csv or ?format=csv (?table= picks
  // one of a panel's tables, the first by default).
  for (const name of PANEL_NAMES) {
    const definition = panelDefinition(name)!;
    const answer = async (c: Context, csv: boolean) => {
      const panel = await loadPanel(deps, definition, c.req.query());
      c.header('Cache-Control', 'no-store');
      if (!csv) return c.json(panel);
      const tableName = c.req.query('table') ?? Object.keys(definition.tables)[0]!;
      const table = Object.hasOwn(definition.tables, tableName) ? definition.tables[tableName] : undefined;
      if (!table) {
        throw new InputError(`table: one of ${Object.keys(definition.tables).join(', ')}`);
      }
      const day = panel.generated_at.slice(0, 10);
      const file = `wxsync-${name}${tableName === Object.keys(definition.tables)[0] ? '' : `-${tableName}`}-${day}.csv`;
      return c.body(toCsv(table.columns, table.rows(panel)), 200, {
        'Content-Type': 'text/csv; charset=utf-8',
        'Content-Disposition': `attachment; filename="${file}"`,
      });
    };
    app.get(`/api/${name}`, (c) => {
      const format = c.req.query('format') ?? 'json';
      if (format !== 'json' && format !== 'csv') throw new InputError('format: json or csv');
      return answer(c, format === 'csv');
    });
    app.get(`/api/${name}.csv`, (c) => answer(c, true));
  }

  app.post('/blacklist', async (c) => {
    const result = await addToBlacklist(deps, await jsonBody(c));
    return c.json(result, result.failed > 0 ? 207 : 200);
  });
  app.delete('/blacklist', async (c) => {
    const result = await removeFromBlacklist(deps, await jsonBody(c));
    return c.json(result, result.failed > 0 ? 207 : 200);
  });
  app.get('/blacklist', async (c) => c.json(await listBlacklist(deps, c.req.query())));

  app.get('/users/:openid', async (c) =>
    c.json(await lookupUser(deps, { openid: c.req.param('openid'), lang: c.req.query('lang') })),
  );
  app.post('/users/:openid/refresh', async (c) => {
    requireJsonType(c);
    return c.json(await refreshUser(deps, { openid: c.req.param('openid') }));
  });
  app.post('/shorturl', async (c) => {
    const result = await shortenUrl(deps, await jsonBody(c));
    return c.json(result, result.ok ? 200 : 502);
  });
  app.get('/ips', async (c) => c.json(await apiDomainIps(deps)));

  app.post('/sync/:job', async (c) => {
    const body = await jsonBody(c, { optional: true });
    return c.json(await triggerSync(deps, c.req.param('job'), body), 202);
  });
  app.get('/runs', async (c) => c.json(await listSyncRuns(deps, c.req.query())));
  app.post('/runs/:id/retry', async (c) => {
    requireJsonType(c);
    return c.json(await retrySyncRun(deps, c.req.param('id')), 202);
  });

  app.route('/queues', queueBoard(deps));
  // '/' mounted at /admin is '/admin' only (Hono routes are strict about the trailing slash);
  // the page's canonical address is /admin/, so that one is answered here, after every other route.
  app.get('/*', (c, next) => (c.req.path === `${ADMIN_BASE}/` ? dashboardPage(c) : next()));
  return app;
}

/**
 * `GET /metrics` in Prometheus' text format, behind the admin bearer. Why authenticated: the same
 * process must answer WeChat on a public address (/wx), so anything it serves is reachable from the
 * internet; queue depths, request rates and WeChat error rates are operational intelligence.
 * Prometheus sends the bearer with `authorization: { credentials: <ADMIN_TOKEN> }` in its scrape
 * config. Undefined when ADMIN_TOKEN is unset.
 */
export function metricsRoutes(deps: Pick<OpsDeps, 'db' | 'queues' | 'config' | 'log'>): Hono | undefined {
  const token = deps.config.ADMIN_TOKEN;
  if (!token) return undefined;
  const app = new Hono();
  // A path-scoped guard: this sub-app is mounted at '/', where a '*' middleware would cover every route.
  app.get('/metrics', requireAdminBearer(token), async (c) => {
    const { contentType, body } = await metricsText(deps);
    return c.body(body, 200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
  });
  return app;
}

/**
 * Every operator route group as `[path, subApp]` pairs for createApp's `mount` option: health at
 * '/', metrics at '/', the admin area at '/admin'. Logs a clear line when ADMIN_TOKEN is unset.
 */
export function operatorRoutes(deps: AdminDeps & { checkTimeoutMs?: number }): Array<[string, Hono]> {
  const mounts: Array<[string, Hono]> = [['/', healthRoutes(deps)]];
  const admin = adminRoutes(deps);
  const metrics = metricsRoutes(deps);
  if (!admin || !metrics) {
    deps.log.warn(
      'ADMIN_TOKEN is not set: /admin (API, dashboard, queue board) and /metrics are NOT mounted; set ADMIN_TOKEN (16+ characters) to enable them',
    );
    return mounts;
  }
  mounts.push(['/', metrics], [ADMIN_BASE, admin]);
  return mounts;
}
