import type { Context } from 'hono';
import type { Log } from '../logger.ts';

/** The context variables every wxsync app sets: the request id, and its logger once made. */
export type RequestLogVariables = { requestId: string; log?: Log };

/**
 * The request's logger (bound to its request id), made on first use: most requests log nothing
 * at the configured level, and a pino child costs ~5 us (its bindings go through redaction).
 */
export function requestLog<E extends { Variables: RequestLogVariables }>(c: Context<E>, base: Log): Log {
  const vars = c as unknown as Context<{ Variables: RequestLogVariables }>;
  let log = vars.get('log');
  if (log === undefined) {
    log = base.child({ reqId: vars.get('requestId') });
    vars.set('log', log);
  }
  return log;
}
