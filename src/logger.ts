import { type Logger, pino } from 'pino';

export type Log = Logger;

/**
 * Paths pino blanks out wherever they appear in a logged object: secrets must never reach a log
 * line even when a whole config or request is logged by mistake.
 */
const REDACT = [
  'access_token',
  'secret',
  'appsecret',
  '*.access_token',
  '*.secret',
  'WECHAT_APP_SECRET',
  'WECHAT_TOKEN',
  'WECHAT_ENCODING_AES_KEY',
  'DATABASE_URL',
  'ADMIN_TOKEN',
  '*.WECHAT_APP_SECRET',
  '*.WECHAT_TOKEN',
  '*.WECHAT_ENCODING_AES_KEY',
  '*.DATABASE_URL',
  '*.ADMIN_TOKEN',
  'req.headers.authorization',
  '*.headers.authorization',
  'req.headers.cookie',
  '*.headers.cookie',
];

/** JSON lines by default; readable lines when a person watches a terminal. */
export function createLogger(level = 'info', options: { pretty?: boolean; name?: string } = {}): Log {
  const pretty = options.pretty ?? (process.stdout.isTTY === true && process.env.CI === undefined);
  return pino({
    level,
    name: options.name ?? 'wxsync',
    redact: { paths: REDACT, censor: '[redacted]' },
    transport: pretty
      ? { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss' } }
      : undefined,
  });
}
