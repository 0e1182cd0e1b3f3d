import type { z } from 'zod';

/**
 * Error families. Domain code throws these (never HTTP errors); the HTTP layer maps them once in
 * its `onError` (to `status`), the job layer maps them once (retryable -> let BullMQ retry,
 * otherwise UnrecoverableError). Messages must be safe to show: no secrets, no tokens.
 */
export abstract class WxsyncError extends Error {
  /** HTTP status the server answers with when this error reaches a request handler. */
  abstract readonly status: number;
  /** Whether trying the same thing again later can succeed (job retries, client retries). */
  abstract readonly retryable: boolean;
  /** Short machine-readable code for logs, metrics and JSON error bodies. */
  abstract readonly code: string;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The base class of one error family, from what maps it: its HTTP status, whether a retry can
 * succeed, its code. `export class InputError extends errorFamily(400, false, 'invalid_input') {}`
 */
export function errorFamily(status: number, retryable: boolean, code: string) {
  return class extends WxsyncError {
    readonly status = status;
    readonly retryable = retryable;
    readonly code = code;
  };
}

/** Bad input from a caller (admin API, CLI arguments, job payload): 400, never retried. */
export class InputError extends errorFamily(400, false, 'invalid_input') {}

/** Missing or wrong credentials (admin bearer token): 401. */
export class AuthError extends errorFamily(401, false, 'unauthorized') {}

/** A dependency we need right now is down (Redis, PostgreSQL): 503, retried. */
export class UnavailableError extends errorFamily(503, true, 'unavailable') {}

/** Another run of the same job holds the lock: 409, the caller is told which run. */
export class ConflictError extends errorFamily(409, false, 'conflict') {}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The one way a zod failure becomes text: `path: rule` per issue, at most `max` of them. `root`
 * names an issue about the whole value (else the rule stands alone); `rule` rewords an issue, or
 * `false` keeps paths only, for input whose rule text could echo what a stranger sent.
 */
export function formatIssues(
  error: z.ZodError,
  options: { root?: string; max?: number; rule?: false | ((issue: z.core.$ZodIssue) => string) } = {},
): string[] {
  return error.issues.slice(0, options.max).map((issue) => {
    const path = issue.path.map(String).join('.') || options.root || '';
    if (options.rule === false) return path;
    const rule = options.rule ? options.rule(issue) : issue.message;
    return path ? `${path}: ${rule}` : rule;
  });
}
