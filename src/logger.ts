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
  // ioredis errors carry the failed command: AUTH's arguments are the user and password.
  'command.args',
  'err.command.args',
  '*.command.args',
  '*.err.command.args',
  // axios errors carry the request: /cgi-bin/token's URL holds the AppSecret.
  'config.url',
  'err.config',
  '*.config.url',
];

/** JSON lines by default; readable lines when a person watches a terminal. */
export function createLogger(
  level = 'info',
  options: { pretty?: boolean; name?: string; stderr?: boolean } = {},
): Log {
  const pretty = options.pretty ?? (process.stdout.isTTY === true && process.env.CI === undefined);
  const settings = {
    level,
    name: options.name ?? 'wxsync',
    redact: { paths: REDACT, censor: '[redacted]' },
    transport: pretty
      ? { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss' } }
      : undefined,
  };
  // A command's own output owns stdout: its incidental log lines go to stderr.
  return options.stderr && !pretty ? pino(settings, pino.destination(2)) : pino(settings);
}
