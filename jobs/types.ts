/**
 * A sync job as the worker runs it: its contract (src/sync/: name, payload, range, counters,
 * schedule...) plus a handler. The runner (runner.ts) wraps every handler the same way: lock,
 * sync_runs row, metrics.
 */
import type { Redis } from 'ioredis';
import type { Config } from '../src/config.ts';
import type { Db } from '../src/db/client.ts';
import type { RunCounts } from '../src/db/sync-runs.ts';
import type { Log } from '../src/logger.ts';
import type { SyncContract } from '../src/sync/contract.ts';
import type { CallEstimate } from '../src/sync/quota.ts';
import type { WeChatClient } from '../src/wechat/client.ts';

/** Everything a handler touches, built once by the worker / CLI and passed in. */
export interface SyncDeps {
  db: Db;
  /** A `service`-role connection (locks); never a blocking worker connection. */
  redis: Redis;
  log: Log;
  wechat: WeChatClient;
  config: Pick<
    Config,
    'QUEUE_PREFIX' | 'SYNC_BATCH_CONCURRENCY' | 'SYNC_LOCK_TTL_S' | 'WECHAT_QUOTA_HEADROOM'
  >;
  /** Clock (tests pin "today"). */
  now?: () => Date;
  /** Follower profiles buffered before one upsert statement (default 1,000). */
  followerWriteRows?: number;
}

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

/** What a job's planner sees before its run starts (the checkpoint of the open run it would resume). */
export interface PlanContext<P> {
  payload: P;
  deps: SyncDeps;
  checkpoint: unknown;
  log: Log;
}

export interface SyncJob<
  N extends string = string,
  In = unknown,
  P extends Record<string, unknown> = Record<string, unknown>,
> extends SyncContract<N, In, P> {
  run(ctx: JobContext<P>): Promise<RunCounts>;
  /**
   * The WeChat calls a run will make, per cgi path: the runner compares them with today's
   * remaining quota before the run starts (src/syn./quota.ts).
   */
  plan?(ctx: PlanContext<P>): Promise<CallEstimate[]>;
}

/** Binds a handler (and its planner) to its contract, keeping the contract's types for the payload. */
export function defineJob<N extends string, In, P extends Record<string, unknown>>(
  contract: SyncContract<N, In, P>,
  run: (ctx: JobContext<P>) => Promise<RunCounts>,
  plan?: (ctx: PlanContext<P>) => Promise<CallEstimate[]>,
): SyncJob<N, In, P> {
  return plan ? { ...contract, run, plan } : { ...contract, run };
}

// biome-ignore lint/suspicious/noExplicitAny: a registry of heterogeneous definitions; each entry is typed where defined.
export type AnySyncJob = SyncJob<string, any, any>;
