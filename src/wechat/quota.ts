/**
 * WeChat's daily API quotas: what is left (openapi/quota/get), clearing them (clear_quota: all
 * counters, 10 times a month; openapi/quota/clear: one path, 50 times a month), and when they
 * reset (00:00 Beijing time). Jobs plan with `remainingQuota` and pause on QuotaExhaustedError.
 */
import type { Redis } from 'ioredis';
import type { WeChatClient } from './client.ts';
import { WeChatError } from './errors.ts';
import { ErrorEnvelope, QuotaGetResponse } from './schemas.ts';

/**
 * Every cgi path wxsync calls, for `wxsync quota`, doctor and the quota gauge (a bounded label set).
 * The token path depends on WECHAT_TOKEN_API: see `tokenPath`.
 */
export const WECHAT_API_PATHS = [
  '/cgi-bin/user/get',
  '/cgi-bin/user/info',
  '/cgi-bin/user/info/batchget',
  '/cgi-bin/tags/get',
  '/cgi-bin/tags/members/getblacklist',
  '/cgi-bin/tags/members/batchblacklist',
  '/cgi-bin/tags/members/batchunblacklist',
  '/datacube/getusersummary',
  '/datacube/getusercumulate',
  '/publisher/stat',
  '/cgi-bin/get_api_domain_ip',
] as const;

/** The paths to report for a client: its token endpoint first, then every API path. */
export function quotaPaths(client: Pick<WeChatClient, 'tokenPath'>): string[] {
  return [client.tokenPath, ...WECHAT_API_PATHS];
}

export interface ApiQuota {
  path: string;
  dailyLimit: number;
  used: number;
  remain: number;
}

/** POST /cgi-bin/openapi/quota/get: today's limit, use and remainder for one cgi path. */
export async function getApiQuota(client: WeChatClient, path: string): Promise<ApiQuota> {
  const answer = await client.post('/cgi-bin/openapi/quota/get', { cgi_path: path }, QuotaGetResponse);
  const { daily_limit, used, remain } = answer.quota;
  return { path, dailyLimit: daily_limit, used, remain };
}

export type QuotaRow = ApiQuota | { path: string; error: string; errcode?: number };

/** One quota/get per path (concurrently); a path WeChat will not report gives a row with its error. */
export async function quotaReport(client: WeChatClient, paths = quotaPaths(client)): Promise<QuotaRow[]> {
  return Promise.all(
    paths.map(async (path): Promise<QuotaRow> => {
      try {
        return await getApiQuota(client, path);
      } catch (error) {
        if (!(error instanceof WeChatError)) throw error;
        const errcode = 'errcode' in error && typeof error.errcode === 'number' ? error.errcode : undefined;
        return { path, error: error.message, ...(errcode === undefined ? {} : { errcode }) };
      }
    }),
  );
}

export interface RemainingQuota {
  /** Paths WeChat reported, by path. */
  quotas: Record<string, ApiQuota>;
  /** Paths it would not report (unknown to quota/get, not authorised...), with the reason. */
  unknown: Record<string, string>;
}

/**
 * What is left today of each path, for planning a run before it starts (compare the calls a run
 * needs with `quotas[path].remain` less a headroom). A path WeChat will not report is listed in
 * `unknown` rather than failing the whole plan: not knowing a quota is no reason to refuse a run.
 */
export async function remainingQuota(
  client: WeChatClient,
  paths: readonly string[],
): Promise<RemainingQuota> {
  const out: RemainingQuota = { quotas: {}, unknown: {} };
  for (const row of await quotaReport(client, [...paths])) {
    if ('error' in row) out.unknown[row.path] = row.error;
    else out.quotas[row.path] = row;
  }
  return out;
}

/**
 * POST /cgi-bin/openapi/quota/clear: resets one path's daily counter. WeChat allows 50 a month per
 * path; spend them deliberately (an operator's command, never an automatic retry).
 */
export async function clearApiQuota(client: WeChatClient, path: string): Promise<void> {
  await client.post('/cgi-bin/openapi/quota/clear', { cgi_path: path }, ErrorEnvelope);
}

/** POST /cgi-bin/clear_quota: resets every daily counter of the account (10 a month). */
export async function clearAllQuota(client: WeChatClient): Promise<void> {
  await client.post('/cgi-bin/clear_quota', { appid: client.appId }, ErrorEnvelope);
}

interface CachedReport {
  at: number;
  rows: QuotaRow[];
}

/**
 * `quotaReport`, shared through Redis for `maxAgeMs`: several workers refreshing the gauge, doctor
 * and the admin /readyz view make one round of quota/get calls per period between them, not one
 * each (quota/get is itself a WeChat call). Returns the rows and when they were fetched.
 */
export async function cachedQuotaReport(
  client: WeChatClient,
  redis: Redis,
  options: { keyPrefix: string; maxAgeMs: number; now?: () => number },
): Promise<{ at: Date; rows: QuotaRow[] }> {
  const now = options.now ?? Date.now;
  const key = `${options.keyPrefix}:wechat:quota:${client.appId}:${client.tokenApi}`;
  const raw = await redis.get(key).catch(() => null);
  if (raw) {
    try {
      const cached = JSON.parse(raw) as CachedReport;
      if (now() - cached.at < options.maxAgeMs) return { at: new Date(cached.at), rows: cached.rows };
    } catch {
      // unreadable: fetch again
    }
  }
  const rows = await quotaReport(client);
  const at = now();
  await redis
    .set(key, JSON.stringify({ at, rows } satisfies CachedReport), 'PX', Math.max(1, options.maxAgeMs))
    .catch(() => undefined);
  return { at: new Date(at), rows };
}
