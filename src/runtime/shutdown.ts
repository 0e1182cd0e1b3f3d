import { errorMessage } from '../errors.ts';
import type { Log } from '../logger.ts';

/** How long a stopped process may linger on open handles before it exits anyway. */
const LINGER_MS = 5_000;

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
          log.error({ err: errorMessage(error) }, 'error while stopping');
          process.exitCode = 1;
        })
        .finally(() => {
          process.off('SIGTERM', handler);
          process.off('SIGINT', handler);
          // Everything is stopped; a connection that never became usable (a Redis refusing our
          // password) may still retry in the background. Exit anyway, soon: the timer is unref'd,
          // so a process with nothing left open exits at once on its own.
          setTimeout(() => {
            log.warn('connections still open after stopping: exiting');
            process.exit(process.exitCode ?? 0);
          }, LINGER_MS).unref();
          resolve();
        });
    };
    process.on('SIGTERM', handler);
    process.on('SIGINT', handler);
  });
}
