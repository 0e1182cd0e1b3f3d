/**
 * Daily API quotas as WeChat keeps them: one counter per cgi path, reset at 00:00 Beijing time;
 * a call over the limit answers 45009. The published defaults (API_Call_Limits) are used where
 * WeChat publishes one; the paths it does not publish (batchget, getblacklist, datacube, tags...)
 * get a generous made-up default. Every limit is configurable. `clear_quota` (all counters, 10 a
 * month) and `openapi/quota/clear` (one path, 50 a month) reset them, as on the real platform.
 */
import { z } from 'zod';
import { beijingDayNumber, beijingMonth } from '../calendar.ts';
import { InputError } from '../errors.ts';

/** Daily limits WeChat publishes (API_Call_Limits), plus made-up ones for the unpublished paths. */
export const DEFAULT_DAILY_LIMITS: Readonly<Record<string, number>> = {
  '/cgi-bin/token': 2_000,
  '/cgi-bin/stable_token': 500_000,
  '/cgi-bin/user/get': 500,
  '/cgi-bin/user/info': 5_000_000,
  // Not published: WeChat's console shows the account's figure. Generous defaults.
  '/cgi-bin/user/info/batchget': 5_000_000,
  '/cgi-bin/tags/members/getblacklist': 500,
  '/cgi-bin/tags/members/batchblacklist': 100_000,
  '/cgi-bin/tags/members/batchunblacklist': 100_000,
  '/cgi-bin/get_api_domain_ip': 100_000,
  '/cgi-bin/shorturl': 100_000,
  '/datacube/getusersummary': 100_000,
  '/datacube/getusercumulate': 100_000,
  '/publisher/stat': 100_000,
  '/cgi-bin/tags/get': 100_000,
};

/** clear_quota may be used 10 times a month, openapi/quota/clear 50 times a month per path. */
export const CLEAR_ALL_MONTHLY_MAX = 10;
export const CLEAR_PATH_MONTHLY_MAX = 50;

export const QuotaLimits = z.record(
  z.string().regex(/^\/[\w/-]+$/, 'a cgi path such as /cgi-bin/user/get'),
  z.number().int().min(0),
);
export type QuotaLimits = z.infer<typeof QuotaLimits>;

function parseLimits(value: unknown): QuotaLimits {
  const parsed = QuotaLimits.safeParse(value);
  if (!parsed.success) throw new InputError(`invalid quotas: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

export interface QuotaFigures {
  daily_limit: number;
  used: number;
  remain: number;
}

export type ClearRefusal = 'unknown_path' | 'monthly_limit';

export class Quotas {
  private readonly limits: Map<string, number>;
  private used = new Map<string, number>();
  private day: number;
  private month: string;
  private clearsAll = 0;
  private readonly clearsByPath = new Map<string, number>();

  constructor(
    private readonly now: () => number,
    overrides: QuotaLimits = {},
  ) {
    this.limits = new Map(Object.entries({ ...DEFAULT_DAILY_LIMITS, ...parseLimits(overrides) }));
    this.day = beijingDayNumber(now());
    this.month = beijingMonth(now());
  }

  /** Whether WeChat knows this path (quota/get and quota/clear answer 76021 otherwise). */
  knows(path: string): boolean {
    return this.limits.has(path);
  }

  /** Counts one call; false when today's quota is used up (the call must answer 45009). */
  consume(path: string): boolean {
    this.roll();
    const limit = this.limits.get(path);
    if (limit === undefined) return true;
    const used = this.used.get(path) ?? 0;
    if (used >= limit) return false;
    this.used.set(path, used + 1);
    return true;
  }

  figures(path: string): QuotaFigures | undefined {
    this.roll();
    const limit = this.limits.get(path);
    if (limit === undefined) return undefined;
    const used = Math.min(this.used.get(path) ?? 0, limit);
    return { daily_limit: limit, used, remain: limit - used };
  }

  /** Replaces some paths' daily limits (new paths become known). */
  setLimits(limits: QuotaLimits): void {
    for (const [path, limit] of Object.entries(parseLimits(limits))) this.limits.set(path, limit);
  }

  /** Sets today's used count of some paths (tests: "the quota is nearly gone"). */
  setUsed(used: QuotaLimits): void {
    this.roll();
    for (const [path, n] of Object.entries(parseLimits(used))) {
      if (!this.limits.has(path)) throw new InputError(`unknown cgi path ${path}`);
      this.used.set(path, n);
    }
  }

  /** POST /cgi-bin/clear_quota: every counter back to 0, 10 times a month. */
  clearAll(): true | ClearRefusal {
    this.roll();
    if (this.clearsAll >= CLEAR_ALL_MONTHLY_MAX) return 'monthly_limit';
    this.clearsAll++;
    this.used = new Map();
    return true;
  }

  /** POST /cgi-bin/openapi/quota/clear: one path's counter back to 0, 50 times a month. */
  clearPath(path: string): true | ClearRefusal {
    this.roll();
    if (!this.limits.has(path)) return 'unknown_path';
    const n = this.clearsByPath.get(path) ?? 0;
    if (n >= CLEAR_PATH_MONTHLY_MAX) return 'monthly_limit';
    this.clearsByPath.set(path, n + 1);
    this.used.delete(path);
    return true;
  }

  snapshot(): {
    beijingDay: string;
    paths: Record<string, QuotaFigures>;
    clears: { all: number; byPath: Record<string, number> };
  } {
    this.roll();
    const paths: Record<string, QuotaFigures> = {};
    for (const path of [...this.limits.keys()].sort()) paths[path] = this.figures(path)!;
    return {
      beijingDay: new Date(this.day * 86_400_000).toISOString().slice(0, 10),
      paths,
      clears: { all: this.clearsAll, byPath: Object.fromEntries(this.clearsByPath) },
    };
  }

  /** Daily counters reset at 00:00 Beijing time, monthly clear allowances on the 1st. */
  private roll(): void {
    const now = this.now();
    const day = beijingDayNumber(now);
    if (day !== this.day) {
      this.day = day;
      this.used = new Map();
    }
    const month = beijingMonth(now);
    if (month !== this.month) {
      this.month = month;
      this.clearsAll = 0;
      this.clearsByPath.clear();
    }
  }
}
