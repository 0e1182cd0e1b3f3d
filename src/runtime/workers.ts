/**
 * What `wxsync worker` (and the demo) run: each consumer is a starter (events worker, sync worker,
 * scheduler, metrics endpoint), all sharing one set of dependencies built here once. close(): every
 * starter stops taking jobs and finishes its running ones (in reverse start order), then Redis and
 * PostgreSQL are closed.
 */
import { startEventWorker } from '../../jobs/events/worker.ts';
import { startSyncScheduler, startSyncWorker } from '../../jobs/sync-runtime.ts';
import type { Started, Starter, WorkerContext } from '../../jobs/worker-context.ts';
import type { Config } from '../config.ts';
import { createDb } from '../db/client.ts';
import { withDeadline } from '../deadline.ts';
import { errorMessage } from '../errors.ts';
import type { Log } from '../logger.ts';
import { createRedis } from '../redis.ts';
import { createWeChatClient } from '../wechat/client.ts';
import { startQuotaGauge } from './quota-gauge.ts';
import { startWorkerMetrics } from './worker-metrics.ts';

export const startEvents: Starter = (ctx) => {
  const concurrency = ctx.concurrency ?? ctx.config.EVENT_WORKER_CONCURRENCY;
  const events = startEventWorker(
    {
      db: ctx.db,
      wechat: ctx.wechat,
      log: ctx.log,
      connection: ctx.workerRedis,
      prefix: ctx.config.QUEUE_PREFIX,
    },
    { concurrency, batchWaitMs: ctx.config.EVENTS_BATCH_WAIT_MS },
  );
  ctx.log.info(
    { queue: 'events', concurrency, batchWaitMs: ctx.config.EVENTS_BATCH_WAIT_MS },
    'events worker started',
  );
  return { name: 'events', close: events.close };
};

/** Every consumer `wxsync worker` runs, in start order (closed in reverse). */
/** How long a worker may take to stop while its Redis is unusable (it has nothing to finish). */
const UNUSABLE_CLOSE_MS = 3_000;

export const STARTERS: Starter[] = [
  startEvents,
  startSyncWorker,
  startSyncScheduler,
  startWorkerMetrics,
  startQuotaGauge,
];

export interface RunningWorkers {
  close(): Promise<void>;
}

export async function startWorkers(
  config: Config,
  log: Log,
  opts: { concurrency?: number; starters?: Starter[] } = {},
): Promise<RunningWorkers> {
  const workerRedis = createRedis(config.REDIS_URL, 'worker', 'wxsync-worker', log);
  const serviceRedis = createRedis(config.REDIS_URL, 'service', 'wxsync-worker-service', log);
  const db = createDb(config.DATABASE_URL);
  const wechat = createWeChatClient(config, { redis: serviceRedis, log });
  const ctx: WorkerContext = {
    config,
    log,
    db,
    wechat,
    workerRedis,
    serviceRedis,
    concurrency: opts.concurrency,
  };
  const started: Started[] = [];
  for (const start of opts.starters ?? STARTERS) started.push(await start(ctx));
  return {
    async close() {
      try {
        for (const s of [...started].reverse()) {
          // A worker whose Redis is unusable (down, or refusing our password) has no job running
          // but waits forever for its connection: SIGTERM must still stop the process.
          const usable = workerRedis.status === 'ready';
          await (usable
            ? s.close()
            : withDeadline(s.close(), UNUSABLE_CLOSE_MS, () => new Error(`${s.name} did not stop`)).catch(
                (error: unknown) =>
                  log.warn({ worker: s.name, err: errorMessage(error) }, 'worker stop timed out'),
              ));
          log.info({ worker: s.name }, 'worker stopped');
        }
      } finally {
        // Connections close even when a worker failed to stop cleanly. QUIT waits for a usable
        // connection (forever, with maxRetriesPerRequest null): an unusable one is just dropped.
        await Promise.allSettled(
          [workerRedis, serviceRedis].map((r) => (r.status === 'ready' ? r.quit() : r.disconnect())),
        );
        await db.$disconnect();
      }
    },
  };
}
