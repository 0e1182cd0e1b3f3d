/**
 * What a sync job IS, as every side of it reads it: its name, payload schema, retry policy, whether
 * it takes a date range (and its default), the counters it reports (and which are rows written),
 * its cron setting and how a schedule slot becomes its payload. Producers (CLI, admin API, ops,
 * the scheduler, the progress display) read these definitions and never a job name; the handler
 * that runs a contract lives in jobs/sync/ and binds to it (jobs/types.ts defineJob).
 *
 * Adding a job: a contract here (src/sync/<job>.ts, listed in src/sync/registry.ts) and its
 * handler (jobs/sync/<job>.ts, listed in jobs/registry.ts); a CRON_<JOB> setting in src/config.ts.
 */
import { z } from 'zod';
import { addDays, beijingYesterday, resolveRange } from '../calendar.ts';
import type { Config } from '../config.ts';
import type { RunCounts } from '../db/sync-runs.ts';
import { formatIssues, InputError } from '../errors.ts';
import { IsoDate } from '../wechat/schemas.ts';

/** What the trigger of every payload may say (stored in sync_runs.trigger). */
export const Trigger = z.enum(['schedule', 'cli', 'admin', 'demo', 'test']).default('cli');

/** The payload of a job that takes a date range (YYYY-MM-DD, Beijing calendar). */
export const DateRangePayload = z.object({
  from: IsoDate.optional(),
  to: IsoDate.optional(),
  trigger: Trigger,
});

export interface RetryPolicy {
  attempts: number;
  backoff: { type: 'exponential'; delay: number };
}

/** The config setting that holds a job's cron expression. */
export type CronSetting = Exclude<Extract<keyof Config, `CRON_${string}`>, 'CRON_TIMEZONE'>;

/** An option a job's payload takes besides the date range (`wxsync sync <job> --<flag> <value>`). */
export interface SyncOption {
  /** The payload key. */
  key: string;
  /** commander flag, e.g. `--mode <mode>`. */
  flag: string;
  description: string;
}

/** A schedule beside a job's main one (the weekly full follower sync beside the nightly listing). */
export interface ExtraSchedule {
  cron: CronSetting;
  /** Part of the slot's job id (`followers-full-<slot>`), so both schedules of one minute can run. */
  tag: string;
  payload(slot: Date): Record<string, unknown>;
}

export interface SyncContract<
  N extends string = string,
  In = unknown,
  P extends Record<string, unknown> = Record<string, unknown>,
> {
  name: N;
  description: string;
  /** Wire payload (queue data, CLI options, admin body): safeParse'd where it enters. */
  payload: z.ZodType<In, unknown>;
  retry: RetryPolicy;
  /** Set when the job takes --from/--to: the days, ending yesterday (Beijing), a run covers by default. */
  range?: { defaultDays: number };
  /** Payload options other than the range, for the CLI. */
  options?: readonly SyncOption[];
  /** The config setting of its nightly schedule. */
  cron: CronSetting;
  /** Every counter it reports (sync_runs.counts, progress). */
  counters: readonly string[];
  /** The counters that are rows written (the progress display sums them). */
  rowCounters: readonly string[];
  /** Payload -> run parameters (defaults resolved against `now`). Throws InputError for bad ranges. */
  resolve(payload: In, now: Date): P;
  /** The payload of the run a schedule slot starts (ranges fixed at enqueue, from the slot). */
  scheduledPayload(slot: Date): Record<string, unknown>;
  /** More schedules of the same job with other payloads. */
  alsoScheduled?: readonly ExtraSchedule[];
  /**
   * Resolved parameters that record how a run was resolved but do not make two runs different
   * (datacube's `today`): ignored when a request is compared with a queued job or an open run.
   */
  derivedParams?: readonly string[];
  /**
   * What the request asks beyond the run's parameters (`force` of the follower sync): part of
   * what makes two requests the same, never of the run (a forced request resumes a paused run).
   */
  requestFlags?(payload: In): Record<string, unknown>;
}

/** The parameters that identify a run: resolved params less the contract's derived ones, keys sorted. */
export function runIdentity(
  contract: Pick<AnySyncContract, 'derivedParams'>,
  params: Record<string, unknown>,
): string {
  const skip = new Set(contract.derivedParams ?? []);
  return JSON.stringify(
    Object.fromEntries(
      Object.entries(params)
        .filter(([k]) => !skip.has(k))
        .sort(([a], [b]) => a.localeCompare(b)),
    ),
  );
}

/** Keeps each definition's own types (and its literal name) while the registry lists them side by side. */
export function defineContract<const N extends string, In, P extends Record<string, unknown>>(
  contract: SyncContract<N, In, P>,
): SyncContract<N, In, P> {
  return contract;
}

// biome-ignore lint/suspicious/noExplicitAny: a registry of heterogeneous definitions; each entry is typed where defined.
export type AnySyncContract = SyncContract<string, any, any>;

/** The resolve and schedule of a job over a date range: default `defaultDays` ending yesterday. */
export function dateRange(defaultDays: number) {
  return {
    payload: DateRangePayload,
    range: { defaultDays },
    resolve: (payload: z.infer<typeof DateRangePayload>, now: Date) =>
      resolveRange(payload, now, defaultDays),
    scheduledPayload(slot: Date): Record<string, unknown> {
      const yesterday = beijingYesterday(slot);
      return { trigger: 'schedule', from: addDays(yesterday, 1 - defaultDays), to: yesterday };
    },
  };
}

/** The schedule of a job without parameters. */
export const scheduledPlain = (): Record<string, unknown> => ({ trigger: 'schedule' });

export function parsePayload(job: Pick<AnySyncContract, 'name' | 'payload'>, raw: unknown): unknown {
  const parsed = job.payload.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  throw new InputError(
    `invalid ${job.name} payload: ${formatIssues(parsed.error, { root: '(payload)' }).join('; ')}`,
  );
}

/** Progress as handlers report it and the CLI / BullMQ job progress carry it. */
export interface SyncProgress {
  job: string;
  runId: number;
  /** listing, profiles, writing, marking... */
  phase: string;
  /** Units done (followers stored, windows written...) and the expected total when known. */
  done: number;
  total?: number;
  counts: RunCounts;
}
export type ProgressFn = (progress: SyncProgress) => void;

/** What a finished attempt returns (BullMQ's return value of a sync job). */
export interface SyncResult {
  job: string;
  runId: number;
  params: Record<string, unknown>;
  resumed: boolean;
  attempts: number;
  counts: RunCounts;
  durationMs: number;
  /**
   * 'paused' when WeChat's daily quota ran out mid-run (the run waits in sync_runs with its
   * checkpoint); 'skipped' when its planned calls exceed today's remaining quota (never started);
   * 'noop' when a resume job found its run already finished by an earlier request.
   * Absent (or 'succeeded') when the run finished.
   */
  status?: 'succeeded' | 'paused' | 'skipped' | 'noop';
  /** Why a run paused (the error naming the API, WeChat's rid and the resume time) or was skipped (the shortfall). */
  reason?: string;
  /** For a paused run: when it resumes, and the delayed job that will. */
  pause?: { resumeAt: string; resumeJobId?: string };
}
