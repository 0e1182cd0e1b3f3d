/**
 * The fake api.weixin.qq.com: every endpoint wxsync calls, with WeChat's shapes (built from the
 * types of src/wechat/schemas.ts), limits and error codes. Faults and the call counter wrap every
 * route; the admin routes (/__fake/...) are mounted by admin.ts.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type Context, Hono } from 'hono';
import { dayOrUndefined } from '../calendar.ts';
import {
  type ApiDomainIpResponse,
  BATCHGET_MAX,
  BatchGetRequest,
  type BatchGetResponse,
  BLACKLIST_WRITE_MAX,
  type CpsGeneralResponse,
  DATACUBE_MAX_DAYS,
  GetBlacklistRequest,
  OpenidListRequest,
  type OpenidPage,
  PUBLISHER_PAGE_SIZE_MAX,
  PublisherStatQuery,
  type QuotaGetResponse,
  type SettlementResponse,
  StableTokenRequest,
  type TagsResponse,
  type TokenResponse,
  type UserCumulateRow,
  type UserSummaryRow,
} from '../wechat/schemas.ts';
import { sleep } from '../wechat/util.ts';
import { type CallCounter, CGI_PATHS, type FakeEndpoint } from './calls.ts';
import type { FaultDecision, Faults } from './faults.ts';
import type { FakeState } from './state.ts';

export interface FakeDeps {
  state: FakeState;
  calls: CallCounter;
  faults: Faults;
}

/** errmsg texts as WeChat words them (it appends " rid: ..." to each). */
const ERRMSG: Record<number, string> = {
  [-1]: 'system error',
  40001: 'invalid credential, access_token is invalid or not latest',
  40002: 'invalid grant_type',
  40003: 'invalid openid',
  40013: 'invalid appid',
  40014: 'invalid access_token',
  40032: 'invalid openid list size',
  40125: 'invalid appsecret',
  41001: 'access_token missing',
  41002: 'appid missing',
  41004: 'appsecret missing',
  42001: 'access_token expired',
  44002: 'empty post data',
  45009: 'reach max api daily quota limit',
  45011: 'api minute-quota reach limit  mustslower  retry next minute',
  48006: 'forbid to clear quota because of reaching the limit',
  76021: 'cgi_path not found, please check',
  47001: 'data format error',
  48001: 'api unauthorized',
  49003: 'not belong to the appid',
  61500: 'date format error',
  61501: 'date range error',
};
/** Token-family errcodes come as {errcode} even from publisher/stat; other publisher errors use base_resp. */
const TOKEN_ERRCODES = new Set([40001, 40014, 42001, 41001]);
/** Answered by publisher/stat for bad paging or dates ("invalid args"). */
export const PUBLISHER_BAD_ARGS = 40097;

export function wechatError(errcode: number, detail?: string): { errcode: number; errmsg: string } {
  const rid = randomBytes(4).toString('hex');
  return { errcode, errmsg: `${detail ?? ERRMSG[errcode] ?? 'error'} rid: ${rid}` };
}

type Env = { Bindings: { incoming?: IncomingMessage } };
type Handler = (c: Context<Env>) => Promise<Response> | Response;

/** Reads a JSON body the way WeChat does: empty -> 44002, not JSON -> 47001. */
async function jsonBody(
  c: Context<Env>,
): Promise<{ ok: true; value: unknown } | { ok: false; response: Response }> {
  const text = await c.req.text();
  if (!text.trim()) return { ok: false, response: c.json(wechatError(44002)) };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, response: c.json(wechatError(47001)) };
  }
}

/** A JSON-body route: the body read as WeChat reads it (jsonBody), then `handle` with its fields. */
function withJson(
  handle: (c: Context<Env>, body: Record<string, unknown>) => Promise<Response> | Response,
): Handler {
  return async (c) => {
    const body = await jsonBody(c);
    if (!body.ok) return body.response;
    return handle(c, (body.value ?? {}) as Record<string, unknown>);
  };
}

function dropConnection(c: Context<Env>): Response {
  const socket = c.env?.incoming?.socket;
  if (socket) {
    socket.destroy();
    return new Response(null, { status: 204 }); // never reaches anyone: the socket is gone
  }
  // In-process (app.request) there is no socket: a body stream that fails reads the same way.
  return new Response(
    new ReadableStream({
      start(controller) {
        controller.error(new Error('connection dropped by fake WeChat'));
      },
    }),
  );
}

async function applyAfter(decision: FaultDecision, response: Response): Promise<Response> {
  if (decision.action.kind === 'truncate') {
    const text = await response.text();
    return new Response(text.slice(0, Math.max(1, Math.floor(text.length / 2))), {
      status: response.status,
      headers: { 'content-type': 'application/json; encoding=utf-8' },
    });
  }
  if (decision.action.kind === 'nonjson') {
    return new Response('<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>', {
      status: 200,
      headers: { 'content-type': 'text/html' },
    });
  }
  return response;
}

export function createWeChatRoutes(deps: FakeDeps): Hono<Env> {
  const { state, calls, faults } = deps;
  const app = new Hono<Env>();
  /** An error answered by the common layer, counted per errcode. */
  const fail = (c: Context<Env>, errcode: number) => {
    calls.recordError(errcode);
    return c.json(wechatError(errcode));
  };

  /**
   * Wraps a handler with what every WeChat call goes through: counting, latency and faults, then
   * the access_token check (except for the token endpoints themselves), then the daily quota of
   * the endpoint's cgi path (45009 once it is used up; reset at 00:00 Beijing time).
   */
  const wechat =
    (
      endpoint: FakeEndpoint | ((c: Context<Env>) => FakeEndpoint | undefined),
      handler: Handler,
      needsToken = true,
    ): Handler =>
    async (c) => {
      const name = typeof endpoint === 'function' ? endpoint(c) : endpoint;
      if (name === undefined) return handler(c);
      calls.record(name);
      const decision = faults.decide(name);
      if (decision.delayMs > 0) await sleep(decision.delayMs);
      const action = decision.action;
      if (action.kind === 'drop') return dropConnection(c);
      if (action.kind === 'http')
        return c.text(action.status === 500 ? 'Internal Server Error' : 'Bad Gateway', action.status);
      if (action.kind === 'errcode') {
        calls.recordError(action.errcode);
        const body = wechatError(action.errcode);
        if (name.startsWith('publisher_') && !TOKEN_ERRCODES.has(action.errcode)) {
          return c.json({ base_resp: { ret: body.errcode, err_msg: body.errmsg } });
        }
        return c.json(body);
      }
      if (needsToken) {
        const check = state.tokens.check(c.req.query('access_token'));
        // WeChat answers 40001 for unknown, superseded and expired tokens alike here.
        if (check === 'missing') return fail(c, 41001);
        if (check === 'invalid') return fail(c, 40001);
      }
      const cgiPath = CGI_PATHS[name];
      if (cgiPath !== undefined && !state.quotas.consume(cgiPath)) return fail(c, 45009);
      return applyAfter(decision, await handler(c));
    };

  app.get(
    '/cgi-bin/token',
    wechat(
      'token',
      (c) => {
        const { grant_type, appid, secret } = c.req.query();
        if (grant_type !== 'client_credential') return c.json(wechatError(40002));
        if (!appid) return c.json(wechatError(41002));
        if (appid !== state.options.appId) return c.json(wechatError(40013));
        if (!secret) return c.json(wechatError(41004));
        if (secret !== state.options.appSecret) return c.json(wechatError(40125));
        return c.json(state.tokens.issue() satisfies TokenResponse);
      },
      false,
    ),
  );

  // getStableAccessToken: JSON body only; normal mode shares one token, force_refresh is limited.
  app.post(
    '/cgi-bin/stable_token',
    wechat(
      'stable_token',
      withJson(async (c, raw) => {
        if (raw.grant_type !== 'client_credential') return c.json(wechatError(40002));
        if (!raw.appid) return c.json(wechatError(41002));
        if (raw.appid !== state.options.appId) return c.json(wechatError(40013));
        if (!raw.secret) return c.json(wechatError(41004));
        if (raw.secret !== state.options.appSecret) return c.json(wechatError(40125));
        const parsed = StableTokenRequest.safeParse(raw);
        if (!parsed.success) return c.json(wechatError(47001));
        if (!parsed.data.force_refresh) return c.json(state.tokens.stable() satisfies TokenResponse);
        const forced = state.tokens.forceStable();
        // WeChat documents the daily limit (20) but not its errcode: it answers like every other
        // daily limit (45009), a guess no public source confirms or denies.
        if (forced === 'daily') return fail(c, 45009);
        return c.json(forced satisfies TokenResponse);
      }),
      false,
    ),
  );

  /** A route on one `cgi_path` of the body: 47001 when absent, 76021 when the fake has no quota for it. */
  const withCgiPath = (handle: (c: Context<Env>, path: string) => Response): Handler =>
    withJson((c, body) => {
      const path = body.cgi_path;
      if (typeof path !== 'string' || path === '') return c.json(wechatError(47001));
      if (!state.quotas.knows(path)) return c.json(wechatError(76021));
      return handle(c, path);
    });

  app.post(
    '/cgi-bin/openapi/quota/get',
    wechat(
      'quota/get',
      withCgiPath((c, path) => {
        const answer: QuotaGetResponse = { quota: state.quotas.figures(path)! };
        return c.json({ errcode: 0, errmsg: 'ok', ...answer });
      }),
    ),
  );

  app.post(
    '/cgi-bin/openapi/quota/clear',
    wechat(
      'quota/clear',
      withCgiPath((c, path) => {
        const cleared = state.quotas.clearPath(path);
        if (cleared !== true) return c.json(wechatError(cleared === 'monthly_limit' ? 48006 : 76021));
        return c.json({ errcode: 0, errmsg: 'ok' });
      }),
    ),
  );

  app.post(
    '/cgi-bin/clear_quota',
    wechat(
      'clear_quota',
      withJson((c, { appid }) => {
        if (!appid) return c.json(wechatError(41002));
        if (appid !== state.options.appId) return c.json(wechatError(40013));
        if (state.quotas.clearAll() !== true) return c.json(wechatError(48006));
        return c.json({ errcode: 0, errmsg: 'ok' });
      }),
    ),
  );

  // clear_quota/v2: appid + appsecret instead of an access_token, so it works even when the token
  // quota itself is gone; shares clear_quota's 10 a month. WeChat takes them as query or form fields.
  app.post(
    '/cgi-bin/clear_quota/v2',
    wechat(
      'clear_quota',
      async (c) => {
        const form = new URLSearchParams(await c.req.text());
        const appid = c.req.query('appid') ?? form.get('appid');
        const appsecret = c.req.query('appsecret') ?? form.get('appsecret');
        if (!appid) return c.json(wechatError(41002));
        if (appid !== state.options.appId) return c.json(wechatError(40013));
        if (!appsecret) return c.json(wechatError(41004));
        if (appsecret !== state.options.appSecret) return c.json(wechatError(40125));
        if (state.quotas.clearAll() !== true) return c.json(wechatError(48006));
        return c.json({ errcode: 0, errmsg: 'ok' });
      },
      false,
    ),
  );

  app.get(
    '/cgi-bin/get_api_domain_ip',
    wechat('get_api_domain_ip', (c) =>
      c.json({
        ip_list: ['101.226.103.0/25', '101.226.233.128/25', '58.247.206.128/25', '182.254.11.0/24'],
      } satisfies ApiDomainIpResponse),
    ),
  );

  // Retired by WeChat on 2021-03-15: the endpoint exists and refuses.
  app.post(
    '/cgi-bin/shorturl',
    wechat('shorturl', (c) =>
      c.json(wechatError(48001, 'api unauthorized: long2short was retired on 2021-03-15')),
    ),
  );

  app.get(
    '/cgi-bin/user/info',
    wechat('user/info', (c) => {
      const index = state.indexOf(c.req.query('openid') ?? '');
      if (index === undefined) return c.json(wechatError(40003));
      return c.json(state.userInfo(index));
    }),
  );

  app.post(
    '/cgi-bin/user/info/batchget',
    wechat(
      'user/info/batchget',
      withJson(async (c, body) => {
        const list = body.user_list;
        if (Array.isArray(list)) calls.recordBatch('user/info/batchget', list.length);
        if (Array.isArray(list) && (list.length === 0 || list.length > BATCHGET_MAX))
          return c.json(wechatError(40032));
        const parsed = BatchGetRequest.safeParse(body);
        if (!parsed.success) return c.json(wechatError(47001));
        const indices: number[] = [];
        for (const { openid } of parsed.data.user_list) {
          const index = state.indexOf(openid);
          if (index === undefined)
            return c.json(wechatError(40003, `invalid openid hint: [${openid.slice(0, 6)}...]`));
          indices.push(index);
        }
        // WeChat sometimes answers without some of the users asked for (omitRate simulates it).
        const answered = indices.filter(() => !faults.leavesOut('user/info/batchget'));
        return c.json({ user_info_list: answered.map((i) => state.userInfo(i)) } satisfies BatchGetResponse);
      }),
    ),
  );

  const pageResponse = (result: { total: number; openids: string[] }, asked: string): OpenidPage => {
    if (result.openids.length === 0) {
      return {
        total: result.total,
        count: 0,
        next_openid: state.options.lastPageNextOpenid === 'repeat' ? asked : '',
      };
    }
    return {
      total: result.total,
      count: result.openids.length,
      data: { openid: result.openids },
      next_openid: result.openids.at(-1)!,
    };
  };

  app.get(
    '/cgi-bin/user/get',
    wechat('user/get', (c) => {
      const next = c.req.query('next_openid') ?? '';
      if (next && state.indexOf(next) === undefined) return c.json(wechatError(40003));
      return c.json(pageResponse(state.followerPage(next, state.options.userGetPageSize), next));
    }),
  );

  app.get(
    '/cgi-bin/tags/get',
    wechat('tags/get', (c) => c.json({ tags: state.tagList() } satisfies TagsResponse)),
  );

  app.post(
    '/cgi-bin/tags/members/getblacklist',
    wechat('getblacklist', async (c) => {
      const text = await c.req.text();
      let value: unknown = {};
      if (text.trim()) {
        try {
          value = JSON.parse(text);
        } catch {
          return c.json(wechatError(47001));
        }
      }
      const parsed = GetBlacklistRequest.safeParse(value);
      if (!parsed.success) return c.json(wechatError(47001));
      const begin = parsed.data.begin_openid;
      if (begin && state.indexOf(begin) === undefined) return c.json(wechatError(40003));
      return c.json(pageResponse(state.blacklistPage(begin, state.options.blacklistPageSize), begin));
    }),
  );

  const blacklistWrite = (endpoint: 'batchblacklist' | 'batchunblacklist'): Handler =>
    wechat(
      endpoint,
      withJson((c, body) => {
        const list = body.openid_list;
        if (Array.isArray(list)) calls.recordBatch(endpoint, list.length);
        if (Array.isArray(list) && (list.length === 0 || list.length > BLACKLIST_WRITE_MAX)) {
          return c.json(wechatError(40032));
        }
        const parsed = OpenidListRequest.safeParse(body);
        if (!parsed.success) return c.json(wechatError(47001));
        // All or nothing, as WeChat: one foreign openid fails the whole call.
        if (parsed.data.openid_list.some((openid) => state.indexOf(openid) === undefined)) {
          return c.json(wechatError(49003));
        }
        if (endpoint === 'batchblacklist') state.blacklist(parsed.data.openid_list);
        else state.unblacklist(parsed.data.openid_list);
        return c.json({ errcode: 0, errmsg: 'ok' });
      }),
    );
  app.post('/cgi-bin/tags/members/batchblacklist', blacklistWrite('batchblacklist'));
  app.post('/cgi-bin/tags/members/batchunblacklist', blacklistWrite('batchunblacklist'));

  /** Validates a datacube range: 61500 for a bad date, 61501 beyond 7 days, reversed, or past yesterday. */
  const datacube = (
    endpoint: 'getusersummary' | 'getusercumulate',
    rows: (day: number) => (UserSummaryRow | UserCumulateRow)[],
  ): Handler =>
    wechat(
      endpoint,
      withJson((c, { begin_date, end_date }) => {
        const begin = typeof begin_date === 'string' ? dayOrUndefined(begin_date) : undefined;
        const end = typeof end_date === 'string' ? dayOrUndefined(end_date) : undefined;
        if (begin === undefined || end === undefined) return c.json(wechatError(61500));
        if (begin > end || end - begin >= DATACUBE_MAX_DAYS || end > state.stats.lastDay)
          return c.json(wechatError(61501));
        const list = [];
        for (let day = begin; day <= end; day++) list.push(...rows(day));
        return c.json({ list });
      }),
    );
  app.post(
    '/datacube/getusersummary',
    datacube('getusersummary', (day) => state.stats.summary.get(day) ?? []),
  );
  app.post(
    '/datacube/getusercumulate',
    datacube('getusercumulate', (day) => {
      const row = state.stats.cumulate.get(day);
      return row ? [row] : [];
    }),
  );

  app.get(
    '/publisher/stat',
    wechat(
      (c) => {
        const action = c.req.query('action');
        return action === 'publisher_cps_general' || action === 'publisher_settlement' ? action : undefined;
      },
      (c) => {
        const badArgs = (msg: string) => c.json({ base_resp: { ret: PUBLISHER_BAD_ARGS, err_msg: msg } });
        const action = c.req.query('action');
        if (action !== 'publisher_cps_general' && action !== 'publisher_settlement') {
          return badArgs('invalid action');
        }
        // An unknown action answers before any token check, like a missing route; the known ones
        // went through the token check in `wechat`.
        const parsed = PublisherStatQuery.safeParse(c.req.query());
        if (!parsed.success) {
          const size = Number(c.req.query('page_size'));
          return badArgs(
            size > PUBLISHER_PAGE_SIZE_MAX
              ? `page_size must be <= ${PUBLISHER_PAGE_SIZE_MAX}`
              : 'invalid args',
          );
        }
        const q = parsed.data;
        const start = dayOrUndefined(q.start_date);
        const end = dayOrUndefined(q.end_date);
        if (start === undefined || end === undefined || start > end) return badArgs('invalid date range');
        const from = (q.page - 1) * q.page_size;
        if (action === 'publisher_cps_general') {
          const rows = [...state.stats.cps.values()].filter((r) => {
            const d = dayOrUndefined(r.date)!;
            return d >= start && d <= end;
          });
          const sum = (
            k: 'exposure_count' | 'click_count' | 'order_count' | 'total_fee' | 'total_commission',
          ) => rows.reduce((acc, r) => acc + r[k], 0);
          const exposure_count = sum('exposure_count');
          const click_count = sum('click_count');
          const order_count = sum('order_count');
          return c.json({
            base_resp: { ret: 0, err_msg: 'ok' },
            list: rows.slice(from, from + q.page_size),
            summary: {
              exposure_count,
              click_count,
              click_rate: exposure_count ? (click_count / exposure_count) * 1000 : 0,
              order_count,
              order_rate: click_count ? order_count / click_count : 0,
              total_fee: sum('total_fee'),
              total_commission: sum('total_commission'),
            },
            total_num: rows.length,
          } satisfies CpsGeneralResponse);
        }
        const all = state.stats.settlements;
        const rows = all.filter((s) => {
          const d = dayOrUndefined(s.date)!;
          return d >= start && d <= end;
        });
        const settled = all.filter((s) => s.sett_status !== 1).reduce((acc, s) => acc + s.settled_revenue, 0);
        const revenue = all.reduce((acc, s) => acc + s.settled_revenue, 0);
        return c.json({
          base_resp: { ret: 0, err_msg: 'ok' },
          body: '深圳市某某文化传媒有限公司',
          penalty_all: 0,
          revenue_all: revenue,
          settled_revenue_all: settled,
          settlement_list: rows.slice(from, from + q.page_size),
          total_num: rows.length,
        } satisfies SettlementResponse);
      },
    ),
  );

  return app;
}
