/**
 * The WeChat API client: owns the axios instance (keep-alive), the shared access_token, the shared
 * rate limit and the retry policy, behind one private request method. API areas (users.ts,
 * blacklist.ts, datacube.ts, publisher.ts, platform.ts) are plain functions over its typed
 * `get`/`post`, which parse every answer with the endpoint's zod schema from schemas.ts.
 *
 * Retry policy:
 * - errcode 40001/40014/42001 (token invalid): the token store recovers (drops the token if still
 *   stored, asks again; stable mode forces one fleet-wide refresh if WeChat hands back the very
 *   token that failed) and the call is retried ONCE with the result, never more: an endless
 *   40001 -> refresh loop burns the daily token quota.
 * - transient failures (errcode -1, 45011, HTTP 5xx/429, timeouts, connection resets, truncated or
 *   non-JSON bodies): capped exponential backoff with full jitter, up to `maxAttempts` attempts.
 * - everything else (45009, 48001, 40164, 40013, 40125, schema mismatches...) is thrown at once;
 *   45009 as QuotaExhaustedError, which names the next reset (00:00 Beijing time).
 */
import http from 'node:http';
import https from 'node:https';
import axios, { type AxiosInstance } from 'axios';
import type { Redis } from 'ioredis';
import type { z } from 'zod';
import type { Config } from '../config.ts';
import { errorMessage, formatIssues, UnavailableError, WxsyncError } from '../errors.ts';
import type { Log } from '../logger.ts';
import { boundedLabel, wechatCallDuration, wechatCalls } from '../metrics.ts';
import {
  apiError,
  LABELLED_ERRCODES,
  redact,
  WeChatApiError,
  type WeChatError,
  WeChatResponseError,
  WeChatTransportError,
} from './errors.ts';
import { RateLimiter } from './rate-limit.ts';
import { type StableTokenRequest, TokenResponse } from './schemas.ts';
import { type FetchedToken, type TokenApi, TokenStore } from './token-store.ts';
import { backoffDelay, sleep } from './util.ts';

export interface WeChatClientOptions {
  appId: string;
  appSecret: string;
  /** `https://api.weixin.qq.com`, or the fake platform's URL. */
  apiBase: string;
  /** A `service`-role connection: token store and rate limiter. */
  redis: Redis;
  log: Log;
  /** Prefix of the Redis keys (token, lock, rate windows). */
  keyPrefix: string;
  /**
   * 'stable' (default): POST /cgi-bin/stable_token, one token shared with every other system on the
   * appid. 'classic': GET /cgi-bin/token, a new token per fetch (invalidates the others' tokens).
   */
  tokenApi?: TokenApi;
  /** Forced stable refreshes the fleet may spend per Beijing day (at most WeChat's 20). */
  forceRefreshDailyMax?: number;
  /** Refresh the shared token this long before WeChat says it expires. Default 300. */
  refreshMarginS?: number;
  /** Requests per second over all processes sharing the Redis. Default 200. */
  rateLimitPerS?: number;
  /** Per HTTP attempt. Default 10,000. */
  timeoutMs?: number;
  /** Attempts for a transient failure (the single token-refresh retry is not counted). Default 6. */
  maxAttempts?: number;
  /** First backoff ceiling; doubles per attempt up to backoffMaxMs. Default 200. */
  backoffBaseMs?: number;
  /** Default 10,000. */
  backoffMaxMs?: number;
}

export type Query = Record<string, string | number | undefined>;

interface RequestSpec {
  method: 'GET' | 'POST';
  path: string;
  query?: Query;
  body?: unknown;
  /** Whether the call carries the access_token (every endpoint but /cgi-bin/token). */
  auth: boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

function isTransient(error: unknown): boolean {
  if (error instanceof WeChatApiError) return error.kind === 'transient';
  return error instanceof WeChatTransportError && error.retryable;
}

export class WeChatClient {
  readonly appId: string;
  readonly tokenApi: TokenApi;
  readonly log: Log;
  readonly tokens: TokenStore;
  private readonly limiter: RateLimiter;
  private readonly http: AxiosInstance;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly appSecret: string;
  private readonly maxAttempts: number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private readonly timeoutMs: number;

  constructor(options: WeChatClientOptions) {
    this.appId = options.appId;
    this.appSecret = options.appSecret;
    this.tokenApi = options.tokenApi ?? 'stable';
    this.log = options.log;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 6);
    this.backoffBaseMs = options.backoffBaseMs ?? 200;
    this.backoffMaxMs = options.backoffMaxMs ?? 10_000;
    // Batch syncs make thousands of calls: reuse connections instead of a TLS handshake per call.
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 64 });
    this.http = axios.create({
      baseURL: options.apiBase.replace(/\/+$/, ''),
      timeout: this.timeoutMs,
      httpAgent: this.httpAgent,
      httpsAgent: this.httpsAgent,
      // We read the raw text ourselves: a truncated JSON body must be told apart from a valid one.
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      validateStatus: () => true,
      maxRedirects: 0,
      headers: { 'user-agent': 'wxsync' },
    });
    this.tokens = new TokenStore({
      redis: options.redis,
      log: options.log,
      appId: options.appId,
      keyPrefix: options.keyPrefix,
      refreshMarginS: options.refreshMarginS ?? 300,
      api: this.tokenApi,
      fetchToken: () => this.fetchToken(false),
      forceRefresh: this.tokenApi === 'stable' ? () => this.fetchToken(true) : undefined,
      forceRefreshDailyMax: options.forceRefreshDailyMax,
      lockTtlMs: this.timeoutMs + 5_000,
    });
    this.limiter = new RateLimiter({
      redis: options.redis,
      key: `${options.keyPrefix}:wechat:rate:${options.appId}`,
      perSecond: options.rateLimitPerS ?? 200,
    });
  }

  /** GET `path` with `query` (plus the access_token), parsed with `schema`. */
  get<S extends z.ZodType>(path: string, query: Query, schema: S): Promise<z.output<S>> {
    return this.request({ method: 'GET', path, query, auth: true }, schema);
  }

  /** POST `body` as JSON to `path` (plus the access_token), parsed with `schema`. */
  post<S extends z.ZodType>(path: string, body: unknown, schema: S, query: Query = {}): Promise<z.output<S>> {
    return this.request({ method: 'POST', path, query, body, auth: true }, schema);
  }

  /** Closes the keep-alive sockets (the Redis connection belongs to the caller). */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  /** The cgi path of this client's token API (for quota reports). */
  get tokenPath(): string {
    return this.tokenApi === 'stable' ? '/cgi-bin/stable_token' : '/cgi-bin/token';
  }

  /** One token call, no retry of its own: the calling request's retry loop covers it. */
  private async fetchToken(forceRefresh: boolean): Promise<FetchedToken> {
    const spec: RequestSpec =
      this.tokenApi === 'stable'
        ? {
            method: 'POST',
            path: '/cgi-bin/stable_token',
            // The secret travels in the body: never logged, and axios errors never escape exchange().
            body: {
              grant_type: 'client_credential',
              appid: this.appId,
              secret: this.appSecret,
              force_refresh: forceRefresh,
            } satisfies StableTokenRequest,
            auth: false,
          }
        : {
            method: 'GET',
            path: '/cgi-bin/token',
            query: { grant_type: 'client_credential', appid: this.appId, secret: this.appSecret },
            auth: false,
          };
    const answer = await this.exchange(spec, undefined, TokenResponse);
    return { accessToken: answer.access_token, expiresInS: answer.expires_in };
  }

  private async request<S extends z.ZodType>(spec: RequestSpec, schema: S): Promise<z.output<S>> {
    let attempt = 0;
    /** Set once WeChat rejected a token: the next attempt recovers one instead of reading the store. */
    let rejected: { token: string; error: WeChatApiError } | undefined;
    let tokenRetried = false;
    for (;;) {
      attempt += 1;
      let token: string | undefined;
      try {
        if (spec.auth) token = await viaRedis(() => this.nextToken(rejected, spec.path));
        rejected = undefined;
        await viaRedis(() => this.limiter.acquire());
        return await this.exchange(spec, token, schema);
      } catch (error) {
        if (
          error instanceof WeChatApiError &&
          error.kind === 'token_invalid' &&
          token !== undefined &&
          !tokenRetried
        ) {
          // WeChat rejected a token we believed valid (fetched elsewhere, expired early): the next
          // attempt lets the store recover one for the fleet, then tries exactly once more with it.
          // A transient failure while recovering is retried like any other (same loop, same budget).
          tokenRetried = true;
          rejected = { token, error };
          attempt -= 1;
          this.log.warn(
            { endpoint: spec.path, errcode: error.errcode, api: this.tokenApi },
            'wechat rejected the access_token; retrying once with a fresh one',
          );
          continue;
        }
        if (isTransient(error) && attempt < this.maxAttempts) {
          const delayMs = backoffDelay(attempt, this.backoffBaseMs, this.backoffMaxMs);
          this.log.warn(
            { endpoint: spec.path, attempt, delayMs, reason: (error as WeChatError).message },
            'transient wechat failure; retrying',
          );
          await sleep(delayMs);
          continue;
        }
        throw error;
      }
    }
  }

  /** The token for the next attempt: the stored one, or after a rejection a recovered one (else WeChat's error). */
  private async nextToken(
    rejected: { token: string; error: WeChatApiError } | undefined,
    endpoint: string,
  ): Promise<string> {
    if (rejected === undefined) return this.tokens.get();
    const fresh = await this.tokens.recover(rejected.token);
    if (fresh !== undefined) return fresh;
    this.log.warn(
      { endpoint, errcode: rejected.error.errcode, api: this.tokenApi },
      'wechat rejected the access_token and no other one is available; giving up on this call',
    );
    throw rejected.error;
  }

  /**
   * One HTTP exchange: returns the successful answer parsed with `schema`, or throws a WeChat error.
   * Never lets an axios error escape: they carry the full URL, access_token included.
   */
  private async exchange<S extends z.ZodType>(
    spec: RequestSpec,
    token: string | undefined,
    schema: S,
  ): Promise<z.output<S>> {
    const endpoint = spec.path;
    const started = performance.now();
    let outcome = 'unknown';
    try {
      const params = token === undefined ? spec.query : { ...spec.query, access_token: token };
      let response: { status: number; data: unknown };
      try {
        response = await this.http.request({
          method: spec.method,
          url: spec.path,
          params,
          data: spec.body === undefined ? undefined : JSON.stringify(spec.body),
          headers: spec.body === undefined ? undefined : { 'content-type': 'application/json' },
          // A hard deadline on top of axios' idle timeout: a body trickling in must not hang a sync.
          signal: AbortSignal.timeout(this.timeoutMs + 1_000),
        });
      } catch (error) {
        throw transportError(endpoint, error);
      }
      if (response.status < 200 || response.status >= 300) {
        throw new WeChatTransportError(endpoint, 'http_status', `HTTP ${response.status}`, response.status);
      }
      const text = typeof response.data === 'string' ? response.data : String(response.data ?? '');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        const looksJson = /^\s*[[{]/.test(text);
        throw new WeChatTransportError(
          endpoint,
          looksJson ? 'truncated' : 'non_json',
          looksJson
            ? `JSON body cut short (${text.length} bytes)`
            : `body is not JSON (${text.length} bytes)`,
          response.status,
        );
      }
      if (isObject(json)) {
        if (typeof json.errcode === 'number' && json.errcode !== 0) {
          throw apiError(endpoint, json.errcode, String(json.errmsg ?? ''));
        }
        // publisher/stat reports failures in base_resp.ret / err_msg instead of errcode.
        const baseResp = json.base_resp;
        if (isObject(baseResp) && typeof baseResp.ret === 'number' && baseResp.ret !== 0) {
          throw apiError(endpoint, baseResp.ret, String(baseResp.err_msg ?? ''));
        }
      }
      const parsed = parse(endpoint, json, schema);
      outcome = '0';
      return parsed;
    } catch (error) {
      if (error instanceof WeChatApiError) outcome = boundedLabel(String(error.errcode), LABELLED_ERRCODES);
      else if (error instanceof WeChatTransportError) outcome = error.label;
      else if (error instanceof WeChatResponseError) outcome = 'bad_response';
      throw error;
    } finally {
      wechatCalls.inc({ endpoint, errcode: outcome });
      wechatCallDuration.observe({ endpoint }, (performance.now() - started) / 1000);
    }
  }
}

/** Validates an answer at the boundary; issues name paths and rules, never values. */
function parse<S extends z.ZodType>(endpoint: string, json: unknown, schema: S): z.output<S> {
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  throw new WeChatResponseError(endpoint, formatIssues(result.error, { root: '(root)', max: 5 }));
}

/**
 * Runs a token-store / rate-limiter step: WeChat errors (from the token fetch) pass through, a Redis
 * failure becomes UnavailableError (503, retryable) instead of a raw ioredis error.
 */
async function viaRedis<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof WxsyncError) throw error;
    const detail = redact(errorMessage(error));
    throw new UnavailableError(`Redis unavailable for the shared WeChat token / rate limit: ${detail}`);
  }
}

/** Maps an axios/network failure to a transport error built from its code only (never its URL). */
function transportError(endpoint: string, error: unknown): WeChatTransportError {
  const code = axios.isAxiosError(error) ? error.code : undefined;
  const cause = isObject(error) && isObject(error.cause) ? error.cause.code : undefined;
  const netCode = typeof cause === 'string' ? cause : code;
  if (
    code === 'ECONNABORTED' ||
    code === 'ETIMEDOUT' ||
    code === 'ERR_CANCELED' ||
    (isObject(error) && error.name === 'CanceledError')
  ) {
    return new WeChatTransportError(endpoint, 'timeout', 'no answer in time', undefined, netCode);
  }
  if (code === 'ERR_BAD_RESPONSE') {
    return new WeChatTransportError(endpoint, 'truncated', 'connection closed mid-body', undefined, netCode);
  }
  return new WeChatTransportError(endpoint, 'connection', netCode ?? 'network error', undefined, netCode);
}

/** Builds the client from the validated configuration. */
export function createWeChatClient(config: Config, deps: { redis: Redis; log: Log }): WeChatClient {
  return new WeChatClient({
    appId: config.WECHAT_APP_ID,
    appSecret: config.WECHAT_APP_SECRET,
    apiBase: config.WECHAT_API_BASE,
    redis: deps.redis,
    log: deps.log,
    keyPrefix: config.QUEUE_PREFIX,
    tokenApi: config.WECHAT_TOKEN_API,
    forceRefreshDailyMax: config.WECHAT_FORCE_REFRESH_DAILY_MAX,
    refreshMarginS: config.WECHAT_TOKEN_REFRESH_MARGIN_S,
    rateLimitPerS: config.WECHAT_RATE_LIMIT_PER_S,
    timeoutMs: config.WECHAT_HTTP_TIMEOUT_MS,
    maxAttempts: config.WECHAT_MAX_ATTEMPTS,
  });
}
