/**
 * `wxsync worker`: consumes the BullMQ queues with every starter of src/runtime/workers.ts until
 * SIGTERM/SIGINT, then stops them gracefully.
 */
import type { Command } from 'commander';
import { loadConfig } from '../config.ts';
import { InputError } from '../errors.ts';
import { createLogger } from '../logger.ts';
import { onShutdown } from '../runtime/shutdown.ts';
import { startWorkers } from '../runtime/workers.ts';

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
