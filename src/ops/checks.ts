/**
 * Readiness checks shared by `/readyz` and `wxsync doctor`: PostgreSQL (and the schema), Redis, and
 * an access_token obtainable from WeChat. Each check has its own deadline so one dependency that
 * hangs (Redis blackholed, WeChat slow) cannot hold the probe past a load balancer's timeout.
 */
import { checkSchemaApplied, pingDatabase } from '../db/health.ts';
import { withDeadline } from '../deadline.ts';
import { safeErrorText } from '../safe-error.ts';
import type { OpsDeps } from './deps.ts';

export type CheckName = 'postgres' | 'schema' | 'redis' | 'wechat_token';

export interface CheckResult {
  name: CheckName;
  ok: boolean;
  /** How long the check took, in milliseconds. */
  ms: number;
  /** Why it failed: safe to show (no URLs with credentials, no tokens). */
  error?: string;
  /** What an operator can do about it (doctor prints it; /readyz includes it too). */
  hint?: string;
}

export interface ReadinessReport {
  ok: boolean;
  checks: CheckResult[];
}

export const DEFAULT_CHECK_TIMEOUT_MS = 2_000;

class CheckTimeout extends Error {}

/** Rejects with CheckTimeout after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return withDeadline(promise, ms, () => new CheckTimeout(`no answer within ${ms} ms`));
}

const HINTS: Record<CheckName, string> = {
  postgres:
    'start PostgreSQL (docker compose up -d postgres) and check DATABASE_URL (host, port, user, database)',
  schema: 'apply the migrations: wxsync db migrate',
  redis: 'start Redis: docker compose up -d redis (and check REDIS_URL)',
  wechat_token:
    'check WECHAT_APP_ID / WECHAT_APP_SECRET, that this server IP is on the IP whitelist (WeChat console: 基本配置 > IP白名单), and WECHAT_API_BASE',
};

async function run(name: CheckName, timeoutMs: number, check: () => Promise<unknown>): Promise<CheckResult> {
  const started = performance.now();
  try {
    await withTimeout(check(), timeoutMs);
    return { name, ok: true, ms: Math.round(performance.now() - started) };
  } catch (error) {
    return {
      name,
      ok: false,
      ms: Math.round(performance.now() - started),
      error: safeErrorText(error),
      hint: HINTS[name],
    };
  }
}

/** An access_token obtainable now: from the shared store, or from WeChat when none is cached. */
export function liveTokenCheck(deps: Pick<OpsDeps, 'wechat'>, timeoutMs = DEFAULT_CHECK_TIMEOUT_MS) {
  return run('wechat_token', timeoutMs, () => deps.wechat.tokens.get());
}

/** A valid access_token cached in the shared store (Redis only: never calls WeChat). */
export function cachedTokenCheck(deps: Pick<OpsDeps, 'wechat'>, timeoutMs = DEFAULT_CHECK_TIMEOUT_MS) {
  return run('wechat_token', timeoutMs, async () => {
    const stored = await deps.wechat.tokens.read();
    if (!stored || stored.expiresAt <= Date.now()) {
      throw new Error('no valid access_token cached (none fetched yet, or the last fetch failed)');
    }
  });
}

/**
 * Runs every check concurrently. `schema` only runs when PostgreSQL answered (otherwise it would
 * repeat the same failure with a misleading hint).
 */
export async function checkReadiness(
  deps: Pick<OpsDeps, 'db' | 'redis' | 'wechat'>,
  options: {
    timeoutMs?: number;
    /** The wechat_token check (default: a live one, which may call /cgi-bin/token: doctor). */
    token?: () => Promise<CheckResult>;
  } = {},
): Promise<ReadinessReport> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const database = (async (): Promise<CheckResult[]> => {
    const pg = await run('postgres', timeoutMs, () => pingDatabase(deps.db));
    if (!pg.ok) return [pg];
    const schema = await run('schema', timeoutMs, () => checkSchemaApplied(deps.db));
    return [pg, schema];
  })();
  const [dbChecks, redis, token] = await Promise.all([
    database,
    run('redis', timeoutMs, async () => {
      const answer = await deps.redis.ping();
      if (answer !== 'PONG') throw new Error(`unexpected PING answer ${JSON.stringify(answer)}`);
    }),
    options.token ? options.token() : liveTokenCheck(deps, timeoutMs),
  ]);
  const checks = [...dbChecks, redis, token];
  return { ok: checks.every((c) => c.ok), checks };
}
