/**
 * Planning a run against WeChat's daily quotas: the calls a run will make per cgi path (the job's
 * estimate) against what is left today (openapi/quota/get) less a headroom kept for everyone else
 * on the appid (WECHAT_QUOTA_HEADROOM of the daily limit). A run that would not fit does not start:
 * starting it would stop it at 45009 halfway, and the quota it burned would be missed by /wx
 * lookups and the owner's other systems until midnight.
 */
import { errorFamily } from '../errors.ts';
import type { SyncResult } from './contract.ts';

/** Calls a run expects to make on one path, and how the number came about. */
export interface CallEstimate {
  path: string;
  calls: number;
  why: string;
}

/** Today's quota of one path as WeChat reports it. */
export interface PathQuota {
  dailyLimit: number;
  used: number;
  remain: number;
}

export interface PathCheck {
  path: string;
  calls: number;
  dailyLimit: number;
  remain: number;
  /** Calls kept back: the headroom share of the daily limit, rounded up. */
  headroom: number;
  /** remain - headroom: what the run may use. */
  available: number;
  short: boolean;
}

export interface QuotaPlan {
  checks: PathCheck[];
  /** Paths WeChat would not report (their calls are not checked), with the reason. */
  unknown: Record<string, string>;
  short: PathCheck[];
}

/** Compares `estimates` with `quotas` (by path) less `headroomShare` of each daily limit. */
export function checkQuota(
  estimates: readonly CallEstimate[],
  quotas: Readonly<Record<string, PathQuota>>,
  headroomShare: number,
  unknown: Readonly<Record<string, string>> = {},
): QuotaPlan {
  const checks: PathCheck[] = [];
  const notReported: Record<string, string> = {};
  for (const estimate of estimates) {
    if (estimate.calls === 0) continue;
    const quota = quotas[estimate.path];
    if (!quota) {
      notReported[estimate.path] = unknown[estimate.path] ?? 'not reported by quota/get';
      continue;
    }
    const headroom = Math.ceil(quota.dailyLimit * headroomShare);
    const available = Math.max(0, quota.remain - headroom);
    checks.push({
      path: estimate.path,
      calls: estimate.calls,
      dailyLimit: quota.dailyLimit,
      remain: quota.remain,
      headroom,
      available,
      short: estimate.calls > available,
    });
  }
  return { checks, unknown: notReported, short: checks.filter((c) => c.short) };
}

/** The plan's figures as sync_runs counters (`plan.<path>.calls` ...), for the run's record. */
export function planCounts(plan: QuotaPlan): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of plan.checks) {
    const key = c.path.replace(/^\/(cgi-bin\/)?/, '');
    out[`planned:${key}`] = c.calls;
    out[`available:${key}`] = c.available;
    out[`remain:${key}`] = c.remain;
    out[`dailyLimit:${key}`] = c.dailyLimit;
  }
  return out;
}

/** One line per short path: what is needed, what is left, what is kept back. */
export function describeShortfall(plan: QuotaPlan): string {
  return plan.short
    .map(
      (c) =>
        `${c.path} needs ~${c.calls} calls, ${c.available} available today ` +
        `(${c.remain} of ${c.dailyLimit} left, ${c.headroom} kept as headroom)`,
    )
    .join('; ');
}

/**
 * A run that did not start because its planned calls exceed the remaining daily quota. Not
 * retryable (the quota resets at midnight; the next scheduled run plans again), 429 on the admin API.
 */
export class QuotaShortError extends errorFamily(429, false, 'quota_short') {
  constructor(
    message: string,
    readonly runId: number,
    readonly plan: QuotaPlan,
  ) {
    super(message);
  }
}

/** How long after WeChat's midnight reset a paused run resumes (00:05 Beijing): clocks differ a little. */
export const RESUME_AFTER_RESET_MS = 5 * 60_000;

/** When a run paused by 45009 resumes: 00:05 Beijing time after `resetAt` (the next 00:00). */
export function resumeTimeAfter(resetAt: Date): Date {
  return new Date(resetAt.getTime() + RESUME_AFTER_RESET_MS);
}

/** `2026-12-02 00:05` on the Beijing calendar (UTC+8, no daylight saving). */
export function beijingClock(at: Date): string {
  return new Date(at.getTime() + 8 * 3_600_000).toISOString().slice(0, 16).replace('T', ' ');
}

/**
 * A run stopped by WeChat's 45009 (daily quota used up): it is 'paused' in sync_runs with its
 * checkpoint and resumes at `resumeAt` (or with any earlier request for the same run). Not an
 * error to retry: another call today would only answer 45009 again. The CLI exits with 75
 * (EX_TEMPFAIL) on it.
 */
export class SyncPausedError extends errorFamily(503, false, 'sync_paused') {
  constructor(
    message: string,
    readonly runId: number,
    readonly resumeAt: Date,
  ) {
    super(message);
  }
}

/**
 * What an attempt that did not finish its run returns: paused (when it resumes, why, and the job
 * that will) or skipped (the quota shortfall).
 */
export function stoppedResult(
  job: string,
  error: SyncPausedError | QuotaShortError,
  resumeJobId?: string,
): SyncResult {
  const base = {
    job,
    runId: error.runId,
    params: {},
    resumed: false,
    attempts: 0,
    counts: {},
    durationMs: 0,
  };
  if (error instanceof QuotaShortError) return { ...base, status: 'skipped', reason: error.message };
  return {
    ...base,
    status: 'paused',
    reason: error.message,
    pause: { resumeAt: error.resumeAt.toISOString(), resumeJobId },
  };
}
