/**
 * Producer side of the `sync` queue: enqueue a sync job (joining one queued or running with the same
 * parameters, queueing behind one with other parameters), and follow a job's progress to its end
 * (the CLI does both).
 */
import { randomBytes } from 'node:crypto';
import { type Job, type Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUE_NAMES, safeJobId } from '../queues.ts';
import { watchErrors } from '../redis.ts';
import { parsePayload, runIdentity, type SyncProgress, type SyncResult } from './contract.ts';
import { contractOf, findContract, type SyncJobName } from './registry.ts';

/**
 * Finished jobs are kept a while: a scheduled slot's deterministic id must still exist when a second
 * scheduler enqueues the same slot late, or the slot would run twice.
 */
export const SYNC_JOB_RETENTION = {
  removeOnComplete: { age: 7 * 24 * 3600, count: 1_000 },
  removeOnFail: { age: 30 * 24 * 3600, count: 1_000 },
} as const;

export interface Enqueued {
  job: Job;
  /**
   * true when a job with the same resolved parameters was already queued, running or waiting (a
   * paused run's resume, a retry's backoff), and this request follows that one instead.
   */
  joined: boolean;
  /** The joined job was waiting in the delayed set and now runs at once (an earlier request resumes a paused run). */
  promoted: boolean;
  /**
   * Jobs of the same name with other parameters, queued or running: this one runs after them (one
   * run of a job at a time), never instead of them and never folded into them.
   */
  behind: { id: string; state: string; params: Record<string, unknown> }[];
}

const PENDING_STATES = ['active', 'waiting', 'prioritized', 'delayed'] as const;

/**
 * What makes a request part of a run: the resolved parameters (less the contract's derived ones),
 * and the request's flags (the follower sync's `force`). Undefined for a payload that no longer
 * parses (it can never be joined).
 */
export function requestIdentity(
  name: SyncJobName,
  payload: unknown,
  now: Date,
): { run: string; flags: Record<string, unknown> } | undefined {
  const def = contractOf(name);
  try {
    const parsed = parsePayload(def, payload);
    const params = def.resolve(parsed, now) as Record<string, unknown>;
    return { run: runIdentity(def, params), flags: def.requestFlags?.(parsed) ?? {} };
  } catch {
    return undefined;
  }
}

/**
 * Whether a request may join a pending job: the same run, and every flag it sets set the same way
 * on the pending job (an unforced request joins a forced job, a forced one does not join an
 * unforced job: it would lose its --force).
 */
function canJoin(
  request: ReturnType<typeof requestIdentity>,
  pending: ReturnType<typeof requestIdentity>,
): boolean {
  if (!request || !pending || request.run !== pending.run) return false;
  return Object.entries(request.flags).every(
    ([k, v]) => JSON.stringify(pending.flags[k]) === JSON.stringify(v),
  );
}

/** Jobs of this name queued, running or delayed, with their state and resolved parameters. */
export async function findPendingSyncJobs(
  queue: Queue,
  name: SyncJobName,
  now = new Date(),
): Promise<
  { job: Job; state: string; identity: ReturnType<typeof requestIdentity>; params: Record<string, unknown> }[]
> {
  const out: {
    job: Job;
    state: string;
    identity: ReturnType<typeof requestIdentity>;
    params: Record<string, unknown>;
  }[] = [];
  for (const state of PENDING_STATES) {
    const jobs = (await queue.getJobs([state], 0, 500, true)) as Job[];
    for (const job of jobs) {
      if (job.name !== name) continue;
      let params: Record<string, unknown> = {};
      try {
        const def = contractOf(name);
        params = def.resolve(parsePayload(def, job.data), now) as Record<string, unknown>;
      } catch {
        // An unparsable payload stays listed (it is queued) but is never joined.
      }
      out.push({ job, state, identity: requestIdentity(name, job.data, now), params });
    }
  }
  return out;
}

/**
 * Adds a sync job. The payload is validated here too so bad dates fail in the caller's terminal,
 * not later in a worker. With `jobId` (scheduler slots) BullMQ ignores a second add of the same
 * id. Without one, a job of the same name queued, running or delayed with the SAME resolved
 * parameters is joined (a delayed one is promoted: it runs now); one with other parameters is not
 * joined: this job is queued behind it and `behind` says so (the worker runs them one at a time).
 */
export async function enqueueSync(
  queue: Queue,
  name: SyncJobName,
  payload: Record<string, unknown>,
  options: { jobId?: string; now?: Date } = {},
): Promise<Enqueued> {
  const def = findContract(name);
  if (!def) throw new Error(`unknown sync job ${name}`);
  const now = options.now ?? new Date();
  def.resolve(parsePayload(def, payload), now);
  const identity = requestIdentity(name, payload, now);
  const pending = await findPendingSyncJobs(queue, name, now);
  if (!options.jobId) {
    const same = pending.find((p) => canJoin(identity, p.identity));
    if (same) {
      let promoted = false;
      if (same.state === 'delayed') {
        await same.job.promote().catch(() => undefined);
        promoted = true;
      }
      return { job: same.job, joined: true, promoted, behind: [] };
    }
  }
  const jobId =
    options.jobId ??
    safeJobId(
      name,
      String(payload.trigger ?? 'cli'),
      Date.now().toString(36),
      randomBytes(3).toString('hex'),
    );
  const job = await queue.add(name, payload, { jobId, ...def.retry, ...SYNC_JOB_RETENTION });
  // Delayed jobs (a paused run's resume tomorrow, a retry's backoff) do not hold this one back.
  const behind = pending
    .filter((p) => p.job.id !== job.id && p.state !== 'delayed')
    .map((p) => ({ id: String(p.job.id), state: p.state, params: p.params }));
  return { job: job as Job, joined: false, promoted: false, behind };
}

/** The delayed job that resumes a paused run after the quota reset (one per run and pause: its id). */
export const resumeJobId = (job: string, runId: number, resumeAt: Date) =>
  safeJobId(job, 'resume', String(runId), resumeAt.toISOString().replace(/[-:]|\.\d+/g, ''));

/**
 * Adds the delayed job that resumes paused run `runId` at `resumeAt` (00:05 Beijing after the quota
 * reset). Its payload names the run, so it resumes that run with the run's own parameters, or does
 * nothing when an earlier request already finished it. A request with the same parameters joins it
 * and starts it at once (enqueueSync promotes it). Returns its job id.
 */
export async function enqueueResume(
  queue: Queue,
  name: SyncJobName,
  payload: Record<string, unknown>,
  pause: { runId: number; resumeAt: Date },
): Promise<string> {
  const def = contractOf(name);
  const { resumeRun: _previous, ...rest } = payload;
  const jobId = resumeJobId(name, pause.runId, pause.resumeAt);
  await queue.add(
    name,
    { ...rest, resumeRun: pause.runId },
    {
      jobId,
      delay: Math.max(0, pause.resumeAt.getTime() - Date.now()),
      ...def.retry,
      ...SYNC_JOB_RETENTION,
    },
  );
  return jobId;
}

/** "queued behind job X (running, from=... to=...)" for the CLI and the admin API. */
export function describeBehind(behind: Enqueued['behind']): string {
  return behind
    .map((b) => {
      const params = Object.entries(b.params)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      return `${b.id} (${b.state}${params ? `, ${params}` : ''})`;
    })
    .join(', ');
}

/**
 * Waits for `job` to finish (on its own blocking connection, duplicated from `connection`), calling `onProgress` with each progress update, and returns its
 * result (throws the job's failure reason).
 */
export async function followSyncJob(
  job: Job,
  connection: Redis,
  prefix: string,
  onProgress: (progress: SyncProgress) => void,
): Promise<SyncResult> {
  // QueueEvents blocks on its connection: it needs its own, with maxRetriesPerRequest: null.
  const blocking = connection.duplicate({ maxRetriesPerRequest: null });
  watchErrors(blocking, 'redis connection (progress)');
  const events = new QueueEvents(QUEUE_NAMES.sync, { connection: blocking, prefix });
  watchErrors(events, 'queue events sync');
  const id = job.id;
  const listener = ({ jobId, data }: { jobId: string; data: unknown }) => {
    if (jobId === id && typeof data === 'object' && data !== null) onProgress(data as SyncProgress);
  };
  events.on('progress', listener);
  try {
    await events.waitUntilReady();
    return (await job.waitUntilFinished(events)) as SyncResult;
  } finally {
    events.off('progress', listener);
    await events.close();
    await blocking.quit().catch(() => undefined);
  }
}

/** What `sync` says about an enqueue: joined (and maybe started now), queued behind others, or enqueued. */
export function describeEnqueued(name: string, e: Enqueued): string {
  if (e.joined) {
    return e.promoted
      ? `${name}: joining job ${e.job.id} (same parameters; it was waiting for a retry or a quota reset and starts now)`
      : `${name}: joining job ${e.job.id} (same parameters, already queued or running)`;
  }
  if (e.behind.length > 0) {
    return `${name}: enqueued job ${e.job.id}, queued behind ${describeBehind(e.behind)}: one ${name} run at a time, it starts when they end`;
  }
  return `${name}: enqueued job ${e.job.id}`;
}
