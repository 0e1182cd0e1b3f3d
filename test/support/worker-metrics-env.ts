/**
 * `wxsync worker`'s runtime in this process (startWorkers with the given starters) serving its own
 * /metrics and /healthz on a free port, on a fresh database. `close()` stops the workers and drops
 * the database.
 */
import type { Starter } from '../../jobs/worker-context.ts';
import { createLogger } from '../../src/logger.ts';
import { startWorkers } from '../../src/runtime/workers.ts';
import { freshDatabase } from './db.ts';
import { freePort } from './redis-server.ts';
import { testConfig } from './wx.ts';

export interface WorkerMetricsEnv {
  /** http://127.0.0.1:<port> of the worker's metrics listener. */
  base: string;
  adminToken: string;
  /** GET /metrics with the operator bearer: the exposition text. */
  metrics(): Promise<string>;
  close(): Promise<void>;
}

export async function workerMetricsEnv(options: {
  /** Names the queue prefix and the admin token. */
  name: string;
  starters: Starter[];
  /** Configuration beyond DATABASE_URL, QUEUE_PREFIX, WORKER_METRICS_PORT, HOST and ADMIN_TOKEN. */
  config?: Record<string, string>;
}): Promise<WorkerMetricsEnv> {
  const t = await freshDatabase();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const adminToken = `${options.name}-test-token-0123456789`;
  const config = testConfig({
    DATABASE_URL: t.url,
    QUEUE_PREFIX: `${options.name}-${process.pid}-${Date.now()}`,
    WORKER_METRICS_PORT: String(port),
    HOST: '127.0.0.1',
    ADMIN_TOKEN: adminToken,
    ...options.config,
  });
  const workers = await startWorkers(config, createLogger('silent'), { starters: options.starters });
  return {
    base,
    adminToken,
    metrics: async () =>
      (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${adminToken}` } })).text(),
    async close() {
      await workers.close();
      await t.drop();
    },
  };
}
