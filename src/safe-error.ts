/**
 * The one redaction of error text that leaves the process (sync_runs.error, BullMQ's failedReason,
 * /readyz, `wxsync doctor`): our own errors' messages are safe by construction; any other error
 * (pg, Prisma, ioredis, axios) may quote a connection string or a WeChat secret, so it is redacted.
 */
import { errorMessage, WxsyncError } from './errors.ts';
import { redact } from './wechat/errors.ts';

/** WeChat secrets and tokens (see redact) and the credentials of any `scheme://user:pass@` URL, blanked. */
export function redactSecrets(text: string): string {
  return redact(text).replace(/(\w+:\/\/)[^@/\s]*@/g, '$1[redacted]@');
}

/** A failure as sync_runs.error and BullMQ keep it: name and message, redacted, bounded. */
export function safeErrorMessage(error: unknown): string {
  if (error instanceof WxsyncError) return error.message;
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return redactSecrets(text).slice(0, 2_000);
}

/** Error text for a public probe: redacted, and only its last line (Prisma's say what broke there). */
export function safeErrorText(error: unknown): string {
  const text = redactSecrets(errorMessage(error));
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return (lines.at(-1) ?? text).slice(0, 300);
}
