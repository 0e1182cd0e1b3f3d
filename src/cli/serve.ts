/**
 * `wxsync serve`: the HTTP server (/wx for WeChat, plus health, metrics and /admin) on HOST:PORT.
 * It only enqueues; run `wxsync worker` beside it to apply events. SIGTERM/SIGINT: stop accepting
 * connections, let in-flight requests finish, then close the queues, Redis and PostgreSQL.
 */
import type { Command } from 'commander';
import { loadConfig } from '../config.ts';
import { createLogger } from '../logger.ts';
import { startServer } from '../runtime/server.ts';
import { onShutdown } from '../runtime/shutdown.ts';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the HTTP server: WeChat callback /wx, /healthz, /readyz, /metrics, /admin (HOST, PORT)')
    .action(async () => {
      const config = loadConfig();
      const log = createLogger(config.LOG_LEVEL, { name: 'wxsync-serve' });
      const running = await startServer(config, log);
      await onShutdown(log, () => running.close());
    });
}
