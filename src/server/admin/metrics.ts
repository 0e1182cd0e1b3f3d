/**
 * The /metrics body. Gauges that describe shared state are refreshed at scrape time from the
 * source of truth, so every server process reports the same values whichever process did the work:
 * queue depths from BullMQ, the last successful run per job from sync_runs.
 */
import { lastSuccessPerJob } from '../../db/sync-runs.ts';
import { errorMessage } from '../../errors.ts';
import { lastSuccessfulRun, registry } from '../../metrics.ts';
import type { OpsDeps } from '../../ops/deps.ts';
import { refreshQueueDepthGauges } from '../../ops/queues.ts';
import { SYNC_JOB_NAMES } from '../../sync/registry.ts';

const KNOWN_JOBS: ReadonlySet<string> = new Set(SYNC_JOB_NAMES);

export async function refreshLastSuccessGauges(deps: Pick<OpsDeps, 'db'>): Promise<void> {
  // Only the jobs wxsync defines: a stray row (another tool writing sync_runs) makes no new series.
  for (const row of await lastSuccessPerJob(deps.db)) {
    if (KNOWN_JOBS.has(row.job)) lastSuccessfulRun.set({ job: row.job }, row.at);
  }
}

export async function metricsText(
  deps: Pick<OpsDeps, 'db' | 'queues' | 'log'>,
): Promise<{ contentType: string; body: string }> {
  // A scrape must still answer when Redis or PostgreSQL is down: stale gauges beat no metrics.
  const refreshed = await Promise.allSettled([
    refreshQueueDepthGauges(deps.queues),
    refreshLastSuccessGauges(deps),
  ]);
  for (const r of refreshed) {
    if (r.status === 'rejected')
      deps.log.warn({ err: errorMessage(r.reason) }, 'metrics: a gauge refresh failed');
  }
  return { contentType: registry.contentType, body: await registry.metrics() };
}
