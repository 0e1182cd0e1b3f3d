import { UnrecoverableError } from 'bullmq';
import { WxsyncError } from '../src/errors.ts';
import { safeErrorMessage } from '../src/safe-error.ts';

/** Whether trying again later can succeed: our errors say so; foreign ones (drivers, network) may. */
export const isRetryable = (error: unknown): boolean => !(error instanceof WxsyncError) || error.retryable;

/**
 * The one place a job failure is mapped for BullMQ: a WxsyncError that says it is not retryable
 * (bad payload, WeChat errcode a person must fix) becomes UnrecoverableError, so the job lands in
 * the failed set at once with its reason; everything else is rethrown for BullMQ to retry with
 * the job's backoff (transient WeChat errors, Redis or PostgreSQL hiccups).
 */
export function toJobError(error: unknown): Error {
  if (error instanceof WxsyncError && !error.retryable) return new UnrecoverableError(error.message);
  if (error instanceof WxsyncError) return error;
  // A foreign error (pg, Prisma, ioredis) may quote a connection string: BullMQ stores the message
  // as failedReason, which bull-board shows.
  return new Error(safeErrorMessage(error));
}
