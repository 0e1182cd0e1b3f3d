/** `wxsync worker` serves its own /metrics (its work is counted in its own process). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { rowsUpserted } from '../../src/metrics.ts';
import { startWorkerMetrics } from '../../src/runtime/worker-metrics.ts';
import { type RunningWorkers, startWorkers } from '../../src/runtime/workers.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';
import { freePort } from '../support/redis-server.ts';
import { testConfig } from '../support/wx.ts';

const ADMIN_TOKEN = 'worker-metrics-test-token-0123456789';
let t: TestDatabase;
let workers: RunningWorkers;
let base: string;

beforeAll(async () => {
  t = await freshDatabase();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const config = testConfig({
    DATABASE_URL: t.url,
    QUEUE_PREFIX: `wm-${process.pid}-${Date.now()}`,
    WORKER_METRICS_PORT: String(port),
    HOST: '127.0.0.1',
    ADMIN_TOKEN,
  });
  workers = await startWorkers(config, createLogger('silent'), { starters: [startWorkerMetrics] });
});
afterAll(async () => {
  await workers?.close();
  await t?.drop();
});

describe('worker metrics endpoint', () => {
  it('answers /healthz', async () => {
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
  });

  it('requires the bearer and exposes what this process counted', async () => {
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    rowsUpserted.inc({ table: 'followers' }, 7);
    const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/wxsync_rows_upserted_total\{table="followers"\} \d+/);
    expect(text).toContain('wxsync_queue_jobs{queue="events"');
  });
});
