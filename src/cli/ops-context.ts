/**
 * Dependencies of the account-action commands (blacklist, user, shorturl, ips), built once per
 * command and closed after it. Log lines go to stderr at warn level (unless LOG_LEVEL asks for
 * debug/trace) so they never mix with the command's output on stdout.
 */
import { pino } from 'pino';
import { type Config, loadConfig } from '../config.ts';
import { createDb } from '../db/client.ts';
import type { Log } from '../logger.ts';
import type { OpsDeps } from '../ops/deps.ts';
import { createRedis } from '../redis.ts';
import { createWeChatClient } from '../wechat/client.ts';

export function cliLogger(config: Pick<Config, 'LOG_LEVEL'>): Log {
  const level = config.LOG_LEVEL === 'debug' || config.LOG_LEVEL === 'trace' ? config.LOG_LEVEL : 'warn';
  return pino({ level, name: 'wxsync', redact: ['*.access_token', '*.secret'] }, pino.destination(2));
}

export async function withOpsDeps<T>(fn: (deps: OpsDeps) => Promise<T>, given?: Config): Promise<T> {
  const config = given ?? loadConfig();
  const log = cliLogger(config);
  const db = createDb(config.DATABASE_URL, { poolSize: 2 });
  const redis = createRedis(config.REDIS_URL, 'service', 'wxsync-cli');
  redis.on('error', () => undefined); // reported by the failing command itself
  const wechat = createWeChatClient(config, { redis, log });
  try {
    return await fn({ db, redis, log, wechat, config });
  } finally {
    wechat.close();
    await db.$disconnect();
    redis.disconnect();
  }
}

/** Prints `value` as indented JSON (BigInt-safe). */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2));
}
