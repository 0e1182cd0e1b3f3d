/**
 * A read-only scan of the events queue, push by push. Nothing on the request or job path uses it:
 * tests and the ingest benchmark count what /wx queued with it ("is this push queued exactly once"
 * is a question about pushes, not jobs). It lives beside the contract so both read one copy.
 */
import type { Job, JobType, Queue } from 'bullmq';
import { type EventJobPayload, pushesOf } from './jobs.ts';

const ALL_STATES: JobType[] = ['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'];

/** Every push the events queue holds in `states`, with the job carrying it (a batch job carries many). */
export async function queuedPushes(
  queue: Queue,
  states: JobType[] = ALL_STATES,
): Promise<Array<{ job: Job; push: EventJobPayload }>> {
  const found: Array<{ job: Job; push: EventJobPayload }> = [];
  // One state at a time: BullMQ applies a range to each listed state separately.
  for (const state of states) {
    for (let start = 0; ; start += 1000) {
      const jobs = await queue.getJobs([state], start, start + 999, true);
      for (const job of jobs) {
        if (job) for (const push of pushesOf(job)) found.push({ job, push: push as EventJobPayload });
      }
      if (jobs.length < 1000) break;
    }
  }
  return found;
}
