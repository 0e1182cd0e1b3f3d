/**
 * Error families of the WeChat client. All extend WxsyncError (status 502: WeChat is our upstream),
 * so the HTTP layer and the job layer map them like any other domain error.
 *
 * - WeChatApiError: WeChat answered with `errcode != 0` (or publisher/stat's `base_resp.ret != 0`).
 * - WeChatTransportError: no usable answer at all (HTTP 5xx, timeout, connection reset, truncated or
 *   non-JSON body). Retryable.
 * - WeChatResponseError: a well-formed JSON answer that does not match the endpoint's zod schema.
 *   Not retryable: asking again returns the same shape.
 *
 * Messages carry the endpoint *path* only, never a query string: WeChat's URLs carry
 * `access_token=` (and `/cgi-bin/token` carries `secret=`), and axios errors embed the full URL,
 * so no axios error is ever attached as a cause or copied into a message.
 */

import { nextQuotaReset } from '../calendar.ts';
import { WxsyncError } from '../errors.ts';

/** Replaces the value of every `access_token` / `secret` / `appsecret` in URLs, JSON and free text. */
export function redact(text: string): string {
  return (
    text
      // query strings and form bodies: access_token=XYZ&...
      .replace(/\b(access_token|secret|appsecret|app_secret)=[^&\s"'#]*/gi, '$1=[redacted]')
      // JSON: "access_token":"XYZ"
      .replace(/("(?:access_token|secret|appsecret|app_secret)"\s*:\s*)"[^"]*"/gi, '$1"[redacted]"')
  );
}

/** Server-busy and per-minute quota: worth trying again after a pause. */
export const TRANSIENT_ERRCODES: ReadonlySet<number> = new Set([-1, 45011]);

/**
 * The access_token is invalid, stale or expired. The client invalidates it (only if it is still the
 * stored one) and retries exactly once; it never loops, because an endless 40001 -> refresh loop
 * burns the small daily token quota (2,000 fetches).
 */
export const TOKEN_INVALID_ERRCODES: ReadonlySet<number> = new Set([40001, 40014, 42001]);

/** Errcodes whose cause a person must fix; the message says what it means. */
export const ERRCODE_REASONS: Readonly<Record<number, string>> = {
  [-1]: 'WeChat system busy, retried with backoff',
  40001: 'access_token invalid or not the latest (another process may have fetched a new one)',
  40013: 'invalid appid (check WECHAT_APP_ID)',
  40014: 'access_token invalid',
  40032: 'too many openids in one call',
  40125: 'invalid appsecret (check WECHAT_APP_SECRET)',
  40164: "caller IP not in the account's IP whitelist (WeChat console: 基本配置 > IP白名单)",
  42001: 'access_token expired',
  45009: 'daily API quota reached, retry after midnight (Beijing time)',
  45011: 'per-minute API quota reached, slow down',
  48001: 'API not authorised for this account (check its type and verification)',
  49003: 'openid does not belong to this appid',
  61500: 'date format error',
  61501: 'date range error (at most 7 days, ending no later than yesterday)',
};

/**
 * The same reasons in Chinese, for the operator dashboard: what the errcode means and where the
 * operator fixes it, in the words of WeChat's own console (mp.weixin.qq.com).
 */
export const ERRCODE_REASONS_ZH: Readonly<Record<number, string>> = {
  [-1]: '微信系统繁忙，已按退避策略重试',
  40001: 'access_token 无效或不是最新（可能有其他系统用同一 AppID 重新获取了 token）',
  40013: 'AppID 无效（检查 WECHAT_APP_ID）',
  40014: 'access_token 无效',
  40032: '一次请求的 openid 过多',
  40125: 'AppSecret 无效（检查 WECHAT_APP_SECRET）',
  40164: '调用方 IP 不在公众号的 IP 白名单中（公众平台：设置与开发 > 基本配置 > IP白名单）',
  42001: 'access_token 已过期',
  45009: '接口当日调用次数已达上限，北京时间零点后恢复（或在公众平台清零）',
  45011: '接口每分钟调用频率超限，请放慢',
  48001: '公众号没有该接口的权限（检查账号类型与认证状态）',
  49003: 'openid 不属于该 AppID',
  61500: '日期格式错误',
  61501: '日期范围错误（最多 7 天，且不晚于昨天）',
};

/** The errcodes counted under their own metric label; any other is `other` (WeChat's errcode is input). */
export const LABELLED_ERRCODES: ReadonlySet<string> = new Set(
  [0, ...Object.keys(ERRCODE_REASONS).map(Number), ...TRANSIENT_ERRCODES, ...TOKEN_INVALID_ERRCODES].map(
    String,
  ),
);

/** Errcodes that fail every later call of the account the same way (no point trying other chunks). */
export const ACCOUNT_WIDE_ERRCODES: ReadonlySet<number> = new Set([40013, 40125, 40164, 45009, 48001]);

export type ErrcodeClass = 'transient' | 'token_invalid' | 'permanent';

export function classifyErrcode(errcode: number): ErrcodeClass {
  if (TRANSIENT_ERRCODES.has(errcode)) return 'transient';
  if (TOKEN_INVALID_ERRCODES.has(errcode)) return 'token_invalid';
  return 'permanent';
}

/** Common base: every WeChat failure names the endpoint path it concerns. */
export abstract class WeChatError extends WxsyncError {
  readonly status = 502;
  constructor(
    readonly endpoint: string,
    message: string,
  ) {
    super(redact(message));
  }
}

/** WeChat's request id at the end of every errmsg (`... rid: 655d9278-7c157f97-69055077`). */
export function ridOf(errmsg: string): string | undefined {
  return /\brid:\s*([\w-]+)/.exec(errmsg)?.[1];
}

export class WeChatApiError extends WeChatError {
  readonly code: string = 'wechat_api';
  readonly errmsg: string;
  /**
   * The request id WeChat appended to errmsg: what its support and `cgi-bin/openapi/rid/get` need
   * to look the failed call up. It stays in the message too, so every log line and sync_runs.error
   * that carries the message carries it.
   */
  readonly rid: string | undefined;
  /**
   * Transient errcodes (-1, 45011) are retryable. Token-invalid ones are too: the client already
   * retried once with a fresh token, and a later job attempt fetches its own fresh one.
   */
  readonly retryable: boolean;
  readonly kind: ErrcodeClass;

  constructor(
    endpoint: string,
    readonly errcode: number,
    errmsg: string,
  ) {
    const reason = ERRCODE_REASONS[errcode];
    const safeErrmsg = redact(errmsg);
    super(
      endpoint,
      `WeChat ${endpoint} failed: errcode ${errcode} (${safeErrmsg || 'no errmsg'})${reason ? `: ${reason}` : ''}`,
    );
    this.errmsg = safeErrmsg;
    this.rid = ridOf(safeErrmsg);
    this.kind = classifyErrcode(errcode);
    this.retryable = this.kind !== 'permanent';
  }
}

/** Daily API quota reached. */
export const QUOTA_EXHAUSTED_ERRCODE = 45009;

/**
 * 45009: the account's daily quota of this API is used up. Nothing helps until WeChat's counters
 * reset at 00:00 Beijing time (`resetAt`), or an operator spends a clear_quota: jobs pause and
 * resume after the reset instead of retrying. Not retryable, and account-wide for this path.
 */
export class QuotaExhaustedError extends WeChatApiError {
  override readonly code = 'wechat_quota';
  constructor(
    endpoint: string,
    errmsg: string,
    /** The next 00:00 Beijing time after the failure. */
    readonly resetAt: Date,
  ) {
    super(endpoint, QUOTA_EXHAUSTED_ERRCODE, errmsg);
    this.message = `${this.message}; quota resets at ${resetAt.toISOString()} (00:00 Beijing time)`;
  }
}

/** The error for an errcode answer: the quota family for 45009, the generic one otherwise. */
export function apiError(
  endpoint: string,
  errcode: number,
  errmsg: string,
  now = new Date(),
): WeChatApiError {
  return errcode === QUOTA_EXHAUSTED_ERRCODE
    ? new QuotaExhaustedError(endpoint, errmsg, nextQuotaReset(now))
    : new WeChatApiError(endpoint, errcode, errmsg);
}

export function isQuotaExhausted(error: unknown): error is QuotaExhaustedError {
  return error instanceof QuotaExhaustedError;
}

export type TransportKind =
  | 'http_status'
  | 'timeout'
  | 'connection'
  | 'truncated'
  | 'non_json'
  | 'token_wait';

export class WeChatTransportError extends WeChatError {
  readonly code = 'wechat_transport';
  readonly retryable: boolean;

  constructor(
    endpoint: string,
    readonly kind: TransportKind,
    detail: string,
    /** HTTP status when WeChat (or a proxy) answered one; network-level code (ECONNRESET...) otherwise. */
    readonly httpStatus?: number,
    readonly netCode?: string,
  ) {
    super(endpoint, `WeChat ${endpoint} transport failure (${kind}): ${detail}`);
    // A 4xx from WeChat's front (other than 429) will not change on retry; everything else might.
    this.retryable =
      kind !== 'http_status' || httpStatus === undefined || httpStatus >= 500 || httpStatus === 429;
  }

  /** Metric label: http_502, timeout, econnreset, truncated... */
  get label(): string {
    if (this.kind === 'http_status') return `http_${this.httpStatus}`;
    if (this.kind === 'connection') return (this.netCode ?? 'connection').toLowerCase();
    return this.kind;
  }
}

export class WeChatResponseError extends WeChatError {
  readonly code = 'wechat_response';
  readonly retryable = false;
  constructor(
    endpoint: string,
    /** zod issues as `path: message` lines (values are never quoted). */
    readonly issues: string[],
  ) {
    super(endpoint, `WeChat ${endpoint} answered an unexpected shape: ${issues.join('; ')}`);
  }
}
