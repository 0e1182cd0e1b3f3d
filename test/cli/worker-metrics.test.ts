/** `wxsync worker` serves its own /metrics (its work is counted in its own process). */
import { describe, expect, it } from 'vitest';
import { rowsUpserted } from '../../src/metrics.ts';
import { startWorkerMetrics } from '../../src/runtime/worker-metrics.ts';
import { perFile } from '../support/per-file.ts';
import { workerMetricsEnv } from '../support/worker-metrics-env.ts';

const env = perFile(() => workerMetricsEnv({ name: 'worker-metrics', starters: [startWorkerMetrics] }));

describe('worker metrics endpoint', () => {
  it('answers /healthz', async () => {
    const res = await fetch(`${env.base}/healthz`);
    expect(res.status).toBe(200);
  });

  it('requires the bearer and exposes what this process counted', async () => {
    expect((await fetch(`${env.base}/metrics`)).status).toBe(401);
    rowsUpserted.inc({ table: 'followers' }, 7);
    const res = await fetch(`${env.base}/metrics`, {
      headers: { authorization: `Bearer ${env.adminToken}` },
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/wxsync_rows_upserted_total\{table="followers"\} \d+/);
    expect(text).toContain('wxsync_queue_jobs{queue="events"');
  });
});
