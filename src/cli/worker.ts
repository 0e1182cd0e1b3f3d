/**
 * `wxsync worker`: consumes the BullMQ queues. Each consumer is a starter in STARTERS (the
 * events worker now; the sync worker and scheduler join the list), all sharing one set of
 * dependencies. SIGTERM/SIGINT: every starter stops taking jobs and finishes its running ones,
 * then Redis and PostgreSQL are closed.
 */
import type { Command } from 'commander';
import { startEventWorker } from '../../jobs/events.ts';
import { startSyncScheduler, startSyncWorker } from '../../jobs/sync-runtime.ts';
import type { Started, Starter, WorkerContext } from '../../jobs/worker-context.ts';
import { type Config, loadConfig } from '../config.ts';
import { createDb } from '../db/client.ts';
import { InputError } from '../errors.ts';
import { createLogger, type Log } from '../logger.ts';
import { createRedis } from '../redis.ts';
import { createWeChatClient } from '../wechat/client.ts';
import { startWorkerMetrics } from './worker-metrics.ts';

export type { Started, Starter, WorkerContext } from '../../jobs/worker-context.ts';

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
    { concurrency },
  );
  ctx.log.info({ queue: 'events', concurrency }, 'events worker started');
  return { name: 'events', close: events.close };
};

/** Every consumer `wxsync worker` runs, in start order (closed in reverse). */
export const STARTERS: Starter[] = [startEvents, startSyncWorker, startSyncScheduler, startWorkerMetrics];

export interface RunningWorkers {
  close(): Promise<void>;
}

export async function startWorkers(
  config: Config,
  log: Log,
  opts: { concurrency?: number; starters?: Starter[] } = {},
): Promise<RunningWorkers> {
  const workerRedis = createRedis(config.REDIS_URL, 'worker', 'wxsync-worker');
  const serviceRedis = createRedis(config.REDIS_URL, 'service', 'wxsync-worker-service');
  for (const redis of [workerRedis, serviceRedis]) {
    redis.on('error', (error) => log.warn({ err: error.message }, 'redis connection error'));
  }
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
          await s.close();
          log.info({ worker: s.name }, 'worker stopped');
        }
      } finally {
        // Connections close even when a worker failed to stop cleanly.
        await Promise.allSettled([workerRedis.quit(), serviceRedis.quit()]);
        await db.$disconnect();
      }
    },
  };
}

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run the queue workers (events: subscribe/unsubscribe -> followers) until SIGTERM')
    .option(
      '--concurrency <n>',
      'events jobs processed in parallel (default EVENT_WORKER_CONCURRENCY)',
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1) throw new InputError('--concurrency must be a positive integer');
        return n;
      },
    )
    .action(async (flags: { concurrency?: number }) => {
      const config = loadConfig();
      const log = createLogger(config.LOG_LEVEL, { name: 'wxsync-worker' });
      const running = await startWorkers(config, log, { concurrency: flags.concurrency });
      await onShutdown(log, () => running.close());
    });
}

/**
 * Graceful stop for long-running commands: the first SIGTERM/SIGINT runs `close` (stop taking
 * work, finish what runs, close connections) and lets the process exit on its own; a second
 * signal exits at once (an operator pressing Ctrl-C twice means it).
 */
export function onShutdown(log: Log, close: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let closing = false;
    const handler = (signal: NodeJS.Signals) => {
      if (closing) {
        log.warn({ signal }, 'second signal: exiting now');
        process.exit(130);
      }
      closing = true;
      log.info({ signal }, 'shutting down gracefully');
      close()
        .then(() => log.info('stopped'))
        .catch((error: unknown) => {
          log.error({ err: error instanceof Error ? error.message : String(error) }, 'error while stopping');
          process.exitCode = 1;
        })
        .finally(() => {
          process.off('SIGTERM', handler);
          process.off('SIGINT', handler);
          resolve();
        });
    };
    process.on('SIGTERM', handler);
    process.on('SIGINT', handler);
  });
}
