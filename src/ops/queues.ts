/** Queue depths, read live from BullMQ: the dashboard and the /metrics gauges share this. */
import type { Queue } from 'bullmq';
import { queueDepth } from '../metrics.ts';
import { withTimeout } from './checks.ts';

export const DEPTH_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;
export type DepthState = (typeof DEPTH_STATES)[number];
export type QueueDepth = { queue: string } & Record<DepthState, number>;

/** Live counts per queue; a Redis that does not answer within `timeoutMs` fails the call, never hangs it. */
export async function queueDepths(queues: readonly Queue[] = [], timeoutMs = 2_000): Promise<QueueDepth[]> {
  const all = Promise.all(
    queues.map(async (queue) => {
      const counts = await queue.getJobCounts(...DEPTH_STATES);
      const depth = { queue: queue.name } as QueueDepth;
      for (const state of DEPTH_STATES) depth[state] = counts[state] ?? 0;
      return depth;
    }),
  );
  return withTimeout(all, timeoutMs);
}

/** Sets the `wxsync_queue_jobs` gauge from live counts (called at scrape time). */
export async function refreshQueueDepthGauges(queues: readonly Queue[] = []): Promise<QueueDepth[]> {
  const depths = await queueDepths(queues);
  for (const depth of depths) {
    for (const state of DEPTH_STATES) queueDepth.set({ queue: depth.queue, state }, depth[state]);
  }
  return depths;
}
