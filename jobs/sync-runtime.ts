/**
 * Builds the dependencies of the sync jobs once (database, Redis, WeChat client) for a process that
 * runs them (worker, `wxsync sync --inline`), and the starters `wxsync worker` calls.
 */
import type { Queue, Worker } from 'bullmq';
import type { Config } from '../src/config.ts';
import { createDb } from '../src/db/client.ts';
import type { Log } from '../src/logger.ts';
import { openQueue, QUEUE_NAMES } from '../src/queues.ts';
import { createRedis } from '../src/redis.ts';
import { createWeChatClient } from '../src/wechat/client.ts';
import { type Scheduler, startScheduler } from './scheduler.ts';
import { createSyncWorker } from './sync-worker.ts';
import type { SyncDeps } from './types.ts';
import type { Started, WorkerContext } from './worker-context.ts';

export interface SyncRuntime {
  deps: SyncDeps;
  close(): Promise<void>;
}

export function openSyncRuntime(config: Config, log: Log): SyncRuntime {
  const db = createDb(config.DATABASE_URL, { poolSize: Math.max(4, config.SYNC_BATCH_CONCURRENCY + 2) });
  const redis = createRedis(config.REDIS_URL, 'service', 'wxsync-sync', log);
  const wechat = createWeChatClient(config, { redis, log });
  return {
    deps: { db, redis, log, wechat, config },
    async close() {
      wechat.close();
      await db.$disconnect();
      await redis.quit().catch(() => undefined);
    },
  };
}

/** The `sync` queue's worker (followers, blacklist, datacube, publisher), on the worker's shared connections. */
export function startSyncWorker(ctx: WorkerContext): Started & { worker: Worker } {
  const deps: SyncDeps = {
    db: ctx.db,
    redis: ctx.serviceRedis,
    log: ctx.log,
    wechat: ctx.wechat,
    config: ctx.config,
  };
  const worker = createSyncWorker(deps, { connection: ctx.workerRedis });
  ctx.log.info({ queue: QUEUE_NAMES.sync }, 'sync worker started');
  return { name: 'sync', worker, close: () => worker.close() };
}

/** The nightly schedule (every worker process may run one: slots are deduplicated by job id). */
export function startSyncScheduler(ctx: WorkerContext): Started & { scheduler?: Scheduler } {
  if (!ctx.config.SCHEDULER_ENABLED) {
    ctx.log.info('sync scheduler disabled (SCHEDULER_ENABLED=false)');
    return { name: 'sync-scheduler', async close() {} };
  }
  const queue: Queue = openQueue(QUEUE_NAMES.sync, ctx.serviceRedis, ctx.config.QUEUE_PREFIX, {}, ctx.log);
  const scheduler = startScheduler({ config: ctx.config, queue, log: ctx.log });
  return {
    name: 'sync-scheduler',
    scheduler,
    async close() {
      await scheduler.stop();
      await queue.close();
    },
  };
}
