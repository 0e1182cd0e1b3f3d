/**
 * The environment, read and validated once. `.env` is loaded when present (real values never live
 * in git). Errors name the variable and the rule it broke, never the value: several are secrets.
 */
import 'dotenv/config';
import { z } from 'zod';
import { errorFamily, formatIssues } from './errors.ts';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const cron = z.string().regex(/^(\S+\s+){4,5}\S+$/, 'must be a cron expression (5 or 6 fields)');
/** Unset and empty mean the same thing in a .env file. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

export const ConfigSchema = z.object({
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// URL')
    .default('redis://127.0.0.1:6379'),
  /** Prefix of every BullMQ key, so several deployments (or tests) share one Redis. */
  QUEUE_PREFIX: z
    .string()
    .regex(/^[\w-]+$/, 'letters, digits, _ and - only')
    .default('wxsync'),

  WECHAT_APP_ID: z.string().regex(/^wx[0-9a-zA-Z]{16}$/, 'must look like wx followed by 16 letters/digits'),
  WECHAT_APP_SECRET: z.string().regex(/^[0-9a-zA-Z]{32}$/, 'must be the 32-character AppSecret'),
  WECHAT_TOKEN: z
    .string()
    .regex(/^[0-9a-zA-Z]{3,32}$/, 'must be 3-32 letters or digits (WeChat console rule)'),
  /** Optional: set it to accept safe-mode (encrypted) pushes. */
  WECHAT_ENCODING_AES_KEY: optional(
    z.string().regex(/^[0-9a-zA-Z]{43}$/, 'must be the 43-character EncodingAESKey'),
  ),
  WECHAT_API_BASE: z.url().default('https://api.weixin.qq.com'),
  /**
   * Which access_token API: 'stable' (POST /cgi-bin/stable_token, the same token for every system
   * on the appid, so wxsync and the owner's other systems never invalidate each other's) or
   * 'classic' (GET /cgi-bin/token, a new token per fetch, invalidating the previous one).
   */
  WECHAT_TOKEN_API: z.enum(['stable', 'classic']).default('stable'),
  /** Forced stable-token refreshes wxsync may spend per Beijing day (WeChat allows 20 per appid). */
  WECHAT_FORCE_REFRESH_DAILY_MAX: z.coerce.number().int().min(0).max(20).default(20),
  /**
   * How often a worker serving /metrics refreshes wxsync_wechat_quota_remaining (one quota/get per
   * path, shared through Redis by every worker); 0 = never.
   */
  WECHAT_QUOTA_REFRESH_S: z.coerce.number().int().min(0).default(1800),
  /** Refresh the shared access_token this many seconds before WeChat says it expires. */
  WECHAT_TOKEN_REFRESH_MARGIN_S: positiveInt.default(300),
  /** Client-side rate limit over all processes sharing the Redis (requests per second). */
  WECHAT_RATE_LIMIT_PER_S: positiveInt.default(200),
  WECHAT_HTTP_TIMEOUT_MS: positiveInt.default(10_000),
  /** Attempts for a transient WeChat failure (-1, 45011, 5xx, timeouts) before giving up. */
  WECHAT_MAX_ATTEMPTS: positiveInt.default(6),
  /**
   * Share of each daily API quota a planned follower sync leaves untouched (for /wx lookups, the
   * operator, other systems on the appid): a run whose estimated calls exceed the remainder less
   * this share does not start (`--force` starts it anyway).
   */
  WECHAT_QUOTA_HEADROOM: z.coerce.number().min(0).max(0.9).default(0.1),

  PORT: port.default(3000),
  HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * Which pushes /wx accepts, as set in WeChat's console (消息加解密方式): `plaintext` (明文),
   * `compatible` (兼容, both, as during a migration) or `safe` (安全, encrypted only). Unset: `safe`
   * when WECHAT_ENCODING_AES_KEY is set, else `plaintext` (see wxMessageMode).
   */
  WX_MESSAGE_MODE: optional(z.enum(['plaintext', 'compatible', 'safe'])),
  /** Pushes whose timestamp is further than this from our clock are refused (replay protection). */
  WX_TIMESTAMP_TOLERANCE_S: positiveInt.default(300),
  /**
   * Refused pushes (bad signature, bad XML...) one source may send per minute before it is answered
   * 429 without any check; 0 = no limit. Behind a reverse proxy set WX_TRUSTED_PROXY_HOPS too, or
   * every push counts as the proxy's.
   */
  WX_FAILURE_LIMIT: z.coerce.number().int().min(0).default(0),
  /** Reverse proxies in front of wxsync that append X-Forwarded-For (0: the header is ignored). */
  WX_TRUSTED_PROXY_HOPS: z.coerce.number().int().min(0).max(5).default(0),
  WX_BODY_LIMIT_BYTES: positiveInt.default(64 * 1024),
  /** How long a pushed event's dedupe key is remembered in Redis (WeChat retries within ~15 s). */
  WX_DEDUPE_TTL_S: positiveInt.default(24 * 3600),
  /** Passive reply sent to a new follower; unset = no reply (just "success"). */
  WX_WELCOME_TEXT: optional(z.string().max(2000)),

  /**
   * Port on which `wxsync worker` serves /metrics (bearer ADMIN_TOKEN) and /healthz; unset = none.
   * Each process counts its own work (prom-client registries are per process): scrape the server
   * for /wx and HTTP, the worker for syncs, rows upserted and its WeChat calls.
   */
  WORKER_METRICS_PORT: optional(port),

  /**
   * Events jobs the worker holds at once. Their pushes are applied together (shared batchget calls
   * and statements), so a job mostly waits: this bounds how many pushes a burst can have waiting.
   */
  EVENT_WORKER_CONCURRENCY: positiveInt.default(500),
  /**
   * The longest a push waits for others (ms) while a batch of pushes is being applied; with nothing
   * in flight a push is applied at once.
   */
  EVENTS_BATCH_WAIT_MS: z.coerce.number().int().min(0).max(10_000).default(200),
  SYNC_BATCH_CONCURRENCY: positiveInt.default(8),
  /** Lifetime of a sync job's lock without a heartbeat: how long a killed worker blocks its job. */
  SYNC_LOCK_TTL_S: positiveInt.default(15),
  /** Bearer token for /admin; unset disables the admin routes. */
  ADMIN_TOKEN: optional(z.string().min(16, 'must be at least 16 characters')),

  /** Schedules, in Beijing time (Asia/Shanghai). */
  CRON_TIMEZONE: z.string().default('Asia/Shanghai'),
  /** Nightly follower sync in listing mode (profiles fetched only for new and returning followers). */
  CRON_FOLLOWERS: cron.default('0 2 * * *'),
  /** Weekly full follower sync (every profile fetched again): Sunday 03:00. */
  CRON_FOLLOWERS_FULL: cron.default('0 3 * * 0'),
  CRON_BLACKLIST: cron.default('0 2 * * *'),
  CRON_DATACUBE: cron.default('0 9 * * *'),
  CRON_PUBLISHER: cron.default('0 9 * * *'),
  /** Tag names and counts (the nightly follower sync mirrors them too). */
  CRON_TAGS: cron.default('30 * * * *'),
  SCHEDULER_ENABLED: bool.default(true),
});

export type Config = z.infer<typeof ConfigSchema>;

export type WxMessageMode = 'plaintext' | 'compatible' | 'safe';

/**
 * The account's message mode: WX_MESSAGE_MODE, or its default. Accepting plaintext beside an AES
 * key by default would let anyone holding one signed query string post forged plaintext pushes,
 * so the key alone means `safe`. A mode that needs the key without one is a ConfigError.
 */
export function wxMessageMode(
  config: Pick<Config, 'WX_MESSAGE_MODE' | 'WECHAT_ENCODING_AES_KEY'>,
): WxMessageMode {
  const mode = config.WX_MESSAGE_MODE ?? (config.WECHAT_ENCODING_AES_KEY ? 'safe' : 'plaintext');
  if (mode !== 'plaintext' && !config.WECHAT_ENCODING_AES_KEY) {
    throw new ConfigError([`WECHAT_ENCODING_AES_KEY: required by WX_MESSAGE_MODE=${mode}`]);
  }
  return mode;
}

/** Thrown for a missing or invalid setting; the message names variables, never values. */
export class ConfigError extends errorFamily(500, false, 'config') {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/**
 * Validates `env` against `schema` (the whole config by default, or a `.pick()` of it for commands
 * that need less, such as `wxsync db migrate`).
 */
export function loadConfig<S extends z.ZodObject = typeof ConfigSchema>(
  env: Record<string, string | undefined> = process.env,
  schema: S = ConfigSchema as unknown as S,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigError(
    formatIssues(result.error, {
      // zod's own wording can quote the received value; only rule-level messages are safe to show.
      rule: (issue) =>
        issue.code === 'invalid_type' && env[issue.path.join('.')] === undefined ? 'required' : issue.message,
    }),
  );
}
