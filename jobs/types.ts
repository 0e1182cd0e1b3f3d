/**
 * What a sync job is: a name, a zod payload schema, a retry policy, a `resolve` step that turns the
 * payload into the run's parameters (defaults filled, stored in sync_runs.params) and a handler.
 * The runner (runner.ts) wraps every handler the same way: lock, sync_runs row, metrics.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Config } from '../src/config.ts';
import type { Db } from '../src/db/client.ts';
import type { RunCounts } from '../src/db/sync-runs.ts';
import type { Log } from '../src/logger.ts';
import type { WeChatClient } from '../src/wechat/client.ts';

export const SYNC_JOB_NAMES = ['followers', 'blacklist', 'datacube', 'publisher'] as const;
export type SyncJobName = (typeof SYNC_JOB_NAMES)[number];

/** Everything a handler touches, built once by the worker / CLI and passed in. */
export interface SyncDeps {
  db: Db;
  /** A `service`-role connection (locks); never a blocking worker connection. */
  redis: Redis;
  log: Log;
  wechat: WeChatClient;
  config: Pick<Config, 'QUEUE_PREFIX' | 'SYNC_BATCH_CONCURRENCY' | 'SYNC_LOCK_TTL_S'>;
  /** Clock (tests pin "today"). */
  now?: () => Date;
  /** Follower profiles buffered before one upsert statement (default 1,000). */
  followerWriteRows?: number;
}

/** What the trigger of every payload may say (stored in sync_runs.trigger). */
export const Trigger = z.enum(['schedule', 'cli', 'admin', 'demo', 'test']).default('cli');

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

/** The run as a handler sees it (resumed runs carry the checkpoint of the attempt that died). */
export interface RunHandle {
  id: number;
  /** When the run (its first attempt) started: rows this run confirmed are at least this fresh. */
  startedAt: Date;
  /** When this attempt started. */
  attemptStartedAt: Date;
  attempts: number;
  resumed: boolean;
  checkpoint: unknown;
  saveCheckpoint(checkpoint: unknown, counts: RunCounts): Promise<void>;
}

export interface JobContext<P> {
  payload: P;
  deps: SyncDeps;
  run: RunHandle;
  log: Log;
  /** Aborted when the job's lock was lost: stop before the next write. */
  signal: AbortSignal;
  progress(phase: string, done: number, total: number | undefined, counts: RunCounts): void;
}

export interface RetryPolicy {
  attempts: number;
  backoff: { type: 'exponential'; delay: number };
}

export interface SyncJob<In = unknown, P extends Record<string, unknown> = Record<string, unknown>> {
  name: SyncJobName;
  description: string;
  /** Wire payload (queue data, CLI options): safeParse'd where it enters. */
  payload: z.ZodType<In, unknown>;
  retry: RetryPolicy;
  /** Payload -> run parameters (defaults resolved against `now`). Throws InputError for bad ranges. */
  resolve(payload: In, now: Date): P;
  run(ctx: JobContext<P>): Promise<RunCounts>;
}

/** Keeps each definition's own types while letting the registry list them side by side. */
export function defineJob<In, P extends Record<string, unknown>>(job: SyncJob<In, P>): SyncJob<In, P> {
  return job;
}

// biome-ignore lint/suspicious/noExplicitAny: a registry of heterogeneous definitions; each entry is typed where defined.
export type AnySyncJob = SyncJob<any, any>;
