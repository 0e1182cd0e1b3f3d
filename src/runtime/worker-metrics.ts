/**
 * The worker's own /metrics and /healthz (WORKER_METRICS_PORT). prom-client counts per process, so
 * what a worker does (sync rows, job durations, its WeChat calls and token refreshes) is only
 * visible on a scrape of that worker; the server's /metrics shows the server's share.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { Started, Starter } from '../../jobs/worker-context.ts';
import { openQueue, QUEUE_NAMES } from '../queues.ts';
import { metricsRoutes } from '../server/admin/index.ts';
import { type AppEnv, errorHandler } from '../server/app.ts';

export const startWorkerMetrics: Starter = async (ctx): Promise<Started> => {
  const port = ctx.config.WORKER_METRICS_PORT;
  if (port === undefined) return { name: 'metrics', close: async () => undefined };
  const queues = [QUEUE_NAMES.events, QUEUE_NAMES.sync].map((name) =>
    openQueue(name, ctx.serviceRedis, ctx.config.QUEUE_PREFIX, {}, ctx.log),
  );
  const app = new Hono<AppEnv>();
  app.onError(errorHandler(ctx.log));
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  const metrics = metricsRoutes({ db: ctx.db, queues, config: ctx.config, log: ctx.log });
  if (metrics) app.route('/', metrics);
  else ctx.log.warn('ADMIN_TOKEN is not set: the worker serves /healthz but not /metrics');
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: ctx.config.HOST, port }, (info: AddressInfo) => {
      ctx.log.info({ port: info.port }, 'worker metrics listening');
      resolve(s);
    });
    s.once('error', reject);
  });
  return {
    name: 'metrics',
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled(queues.map((q) => q.close()));
    },
  };
};
