/**
 * Nightly schedule: node-cron in CRON_TIMEZONE (Beijing by default) enqueues each sync job with a
 * deterministic job id per scheduled slot (`followers-sched-20260102T180000Z`; a job's extra
 * schedules tag theirs: the weekly full follower sync is `followers-full-sched-...`). Every worker process
 * may run a scheduler: BullMQ refuses a second job with the same id, so two (or ten) schedulers
 * still start each slot once. Finished jobs are kept for days (SYNC_JOB_RETENTION) so a late
 * scheduler cannot re-add a slot that already ran.
 *
 * Why node-cron and not BullMQ Job Schedulers: the environment stays the single source of truth
 * (a changed or removed CRON_* takes effect on restart, with no stale scheduler left in Redis to
 * clean up), the slot time is in our hands (datacube and publisher ranges are computed from the
 * slot, not from whenever a worker picks the job up), and ids stay free of ':'. What Job Schedulers
 * would add - firing while no process runs - does not apply: nothing could run the job then anyway.
 */

import type { Queue } from 'bullmq';
import cron, { type ScheduledTask } from 'node-cron';
import type { Config } from '../src/config.ts';
import { errorMessage } from '../src/errors.ts';
import type { Log } from '../src/logger.ts';
import { safeJobId } from '../src/queues.ts';
import type { CronSetting } from '../src/sync/contract.ts';
import { enqueueSync } from '../src/sync/queue.ts';
import { contractOf, SYNC_CONTRACTS, type SyncJobName } from '../src/sync/registry.ts';

export type ScheduleConfig = Pick<Config, 'CRON_TIMEZONE' | CronSetting>;

/** One schedule: a job, its cron setting, the tag of its slot ids and the payload a slot gets. */
export interface ScheduleEntry {
  job: SyncJobName;
  cron: CronSetting;
  tag: string;
  payload(slot: Date): Record<string, unknown>;
}

/** Every schedule the contracts declare: each job's main one (tag `sched`) and its extra ones. */
export function scheduleEntries(): ScheduleEntry[] {
  return SYNC_CONTRACTS.flatMap((c) => {
    const def = contractOf(c.name);
    return [
      { job: c.name, cron: def.cron, tag: 'sched', payload: (slot: Date) => def.scheduledPayload(slot) },
      ...(def.alsoScheduled ?? []).map((extra) => ({
        job: c.name,
        cron: extra.cron,
        tag: `${extra.tag}-sched`,
        payload: extra.payload,
      })),
    ];
  });
}

/** Each schedule's cron expression, by its setting (CRON_FOLLOWERS, CRON_FOLLOWERS_FULL...). */
export function scheduleOf(config: ScheduleConfig): Record<string, string> {
  return Object.fromEntries(scheduleEntries().map((e) => [e.cron, config[e.cron]]));
}

/** Slot times are whole seconds: schedulers that fire a few ms apart agree on the slot. */
const slotOf = (date: Date) => new Date(Math.floor(date.getTime() / 1000) * 1000);

export function slotJobId(job: SyncJobName, slot: Date, tag = 'sched'): string {
  const compact = slotOf(slot)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return safeJobId(job, tag, compact);
}

/** The payload of a scheduled run, as the job's contract builds it (ranges fixed at enqueue, from the slot). */
export function scheduledPayload(job: SyncJobName, slot: Date, tag = 'sched'): Record<string, unknown> {
  const entry = scheduleEntries().find((e) => e.job === job && e.tag === tag);
  if (!entry) throw new Error(`no ${tag} schedule for ${job}`);
  return entry.payload(slot);
}

/**
 * Enqueues the run of `job` for `slot` (of its `tag` schedule); a second call for the same slot is
 * a no-op. Returns false when the slot was already there (informational: the id is what
 * guarantees one run).
 */
export async function enqueueSlot(
  queue: Queue,
  job: SyncJobName,
  slot: Date,
  tag = 'sched',
): Promise<boolean> {
  const jobId = slotJobId(job, slot, tag);
  if (await queue.getJob(jobId)) return false;
  // Two schedulers can both pass the check above; BullMQ still keeps only the first add of the id.
  await enqueueSync(queue, job, scheduledPayload(job, slot, tag), { jobId, now: slot });
  return true;
}

export interface Scheduler {
  tasks: ScheduledTask[];
  stop(): Promise<void>;
}

export function startScheduler(deps: { config: ScheduleConfig; queue: Queue; log: Log }): Scheduler {
  const log = deps.log.child({ component: 'scheduler' });
  const tasks = scheduleEntries().map((entry) =>
    cron.schedule(
      deps.config[entry.cron],
      async (ctx) => {
        const slot = slotOf(ctx.date);
        const job = entry.job;
        try {
          const added = await enqueueSlot(deps.queue, job, slot, entry.tag);
          log.info(
            { job, schedule: entry.cron, slot: slot.toISOString(), added },
            added ? 'scheduled run enqueued' : 'slot already enqueued',
          );
        } catch (error) {
          log.error(
            { job, schedule: entry.cron, slot: slot.toISOString(), error: errorMessage(error) },
            'could not enqueue scheduled run',
          );
        }
      },
      { timezone: deps.config.CRON_TIMEZONE, name: `wxsync-sync-${entry.job}-${entry.tag}` },
    ),
  );
  log.info(
    { timezone: deps.config.CRON_TIMEZONE, schedule: scheduleOf(deps.config) },
    'sync scheduler started',
  );
  return {
    tasks,
    async stop() {
      for (const task of tasks) await task.destroy();
    },
  };
}
