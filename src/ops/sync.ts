/**
 * Sync jobs from the operator's side: enqueue one with parameters, list runs, retry a failed run.
 * Everything goes through the sync jobs' own producer (enqueueSync) and sync_runs accessors, so a
 * job queued here is validated, deduplicated and run exactly like a scheduled one.
 */
import type { Queue } from 'bullmq';
import { z } from 'zod';
import { getRun, listRuns, type SyncRunRow } from '../db/sync-runs.ts';
import { ConflictError, errorFamily, InputError, UnavailableError } from '../errors.ts';
import { QUEUE_NAMES } from '../queues.ts';
import { parsePayload } from '../sync/contract.ts';
import { describeEnqueued, enqueueSync } from '../sync/queue.ts';
import { contractOf, SYNC_JOB_NAMES, type SyncJobName } from '../sync/registry.ts';
import type { OpsDeps } from './deps.ts';
import { DateRange, parseInput, RunId } from './inputs.ts';

/** A run id that does not exist: 404. */
export class NotFoundError extends errorFamily(404, false, 'not_found') {}

export const RUNS_LIMIT_MAX = 200;
const JobName = z.enum(SYNC_JOB_NAMES, { error: `job must be one of ${SYNC_JOB_NAMES.join(', ')}` });
const RunsQuery = z.object({
  job: JobName.optional(),
  limit: z.coerce.number().int().min(1).max(RUNS_LIMIT_MAX).default(20),
});

export interface Triggered {
  job: SyncJobName;
  /** BullMQ job id; follow it in /admin/queues or with `wxsync sync <job>`. */
  job_id: string;
  /** true when a job with the same resolved parameters was queued, running or waiting, and this request joined it. */
  joined: boolean;
  /** true when the joined job was waiting (a paused run's resume, a retry's backoff) and now starts at once. */
  promoted: boolean;
  /**
   * Jobs of the same name with other parameters, queued or running: this one runs after them (one
   * run of a job at a time). Empty when it can start at once.
   */
  queued_behind: { id: string; state: string; params: Record<string, unknown> }[];
  /** What happened, in words (the CLI prints the same). */
  message: string;
  payload: Record<string, unknown>;
}

function syncQueue(deps: Pick<OpsDeps, 'queues'>): Queue {
  const queue = deps.queues?.find((q) => q.name === QUEUE_NAMES.sync);
  if (!queue) throw new UnavailableError('the sync queue is not configured in this process');
  return queue;
}

async function enqueue(
  deps: Pick<OpsDeps, 'queues' | 'log'>,
  name: SyncJobName,
  payload: Record<string, unknown>,
): Promise<Triggered> {
  // Only what the job's payload schema knows goes on the queue (run params carry derived keys).
  const clean = parsePayload(contractOf(name), payload) as Record<string, unknown>;
  const e = await enqueueSync(syncQueue(deps), name, clean);
  const message = describeEnqueued(name, e);
  deps.log.info({ job: name, jobId: e.job.id, joined: e.joined, payload: clean }, message);
  return {
    job: name,
    job_id: String(e.job.id),
    joined: e.joined,
    promoted: e.promoted,
    queued_behind: e.behind,
    message,
    payload: clean,
  };
}

/**
 * Enqueues `job` with `{from?, to?}` (YYYY-MM-DD, from <= to, at most 366 days) and the options its
 * contract declares (followers: `mode`, `force`). Jobs without a date range (followers,
 * blacklist) refuse one, and an option the job does not take is refused, rather than silently
 * ignored.
 */
export async function triggerSync(
  deps: Pick<OpsDeps, 'queues' | 'log'>,
  jobName: string,
  input: unknown,
): Promise<Triggered> {
  const name = parseInput(z.object({ job: JobName }), { job: jobName }).job;
  const range = parseInput(DateRange, input ?? {});
  const payload: Record<string, unknown> = { trigger: 'admin' };
  if (range.from) payload.from = range.from;
  if (range.to) payload.to = range.to;
  if ((range.from || range.to) && !contractOf(name).range) {
    throw new InputError(`the ${name} sync takes no date range (it always mirrors the whole list)`);
  }
  const body = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const known = new Set(['from', 'to', ...(contractOf(name).options ?? []).map((o) => o.key)]);
  const unknown = Object.keys(body).filter((k) => !known.has(k));
  if (unknown.length > 0) {
    throw new InputError(
      `the ${name} sync takes no ${unknown.join(', ')} (it takes ${[...known].join(', ')})`,
    );
  }
  for (const option of contractOf(name).options ?? []) {
    if (body[option.key] !== undefined) payload[option.key] = body[option.key];
  }
  return enqueue(deps, name, payload);
}

export async function listSyncRuns(
  deps: Pick<OpsDeps, 'db'>,
  input: unknown,
): Promise<{ runs: SyncRunRow[] }> {
  const { job, limit } = parseInput(RunsQuery, input ?? {});
  return { runs: await listRuns(deps.db, { job, limit }) };
}

/** Runs an operator may retry: failed, skipped (quota short), paused (resume it now). */
const RETRYABLE_STATUSES: readonly string[] = ['failed', 'skipped', 'paused'];

/**
 * Runs a run again with its own parameters (the resolved ones stored in sync_runs.params, not
 * today's defaults). A failed or skipped run becomes a new run (a new sync_runs row; the old one
 * stays as it was, for the record); a paused one is resumed now from its checkpoint (joining and
 * starting its delayed resume job when there is one). A running or retrying run is still going, a
 * succeeded one needs no retry (trigger the job instead).
 */
export async function retrySyncRun(
  deps: Pick<OpsDeps, 'db' | 'queues' | 'log'>,
  rawId: unknown,
): Promise<Triggered & { retried_run: number }> {
  const id = parseInput(RunId, rawId);
  const run = await getRun(deps.db, id);
  if (!run) throw new NotFoundError(`no sync run #${id}`);
  if (!RETRYABLE_STATUSES.includes(run.status)) {
    throw new ConflictError(
      `run #${id} is ${run.status}: only ${RETRYABLE_STATUSES.join(', ')} runs can be retried`,
    );
  }
  const name = parseInput(JobName, run.job);
  // params are the resolved parameters (dates filled in); the payload schema keeps what it knows.
  const payload = { ...run.params, trigger: 'admin' };
  return { ...(await enqueue(deps, name, payload)), retried_run: id };
}
