/**
 * `/healthz`: the process is up and serving (liveness: restart it if this fails).
 * `/readyz`: PostgreSQL, Redis and an access_token are all usable (readiness: route traffic to it
 * only when green). Anonymous probes never call WeChat (see tokenCheck). Both are unauthenticated for load balancers and orchestrators; /readyz answers
 * per dependency with its status and an operator hint, 503 when any is red. The error text itself
 * (hosts, ports, WeChat's errmsg, which names the server's egress IP) only goes to an operator
 * who sends the admin bearer token: this listener is public, since it serves /wx.
 */
import { Hono } from 'hono';
import type { Config } from '../config.ts';
import {
  type CheckResult,
  cachedTokenCheck,
  checkReadiness,
  liveTokenCheck,
  withTimeout,
} from '../ops/checks.ts';
import type { OpsDeps } from '../ops/deps.ts';
import { safeErrorText } from '../safe-error.ts';
import { cachedQuotaReport } from '../wechat/quota.ts';
import { hasAdminBearer } from './admin/auth.ts';

export interface HealthDeps extends Pick<OpsDeps, 'db' | 'redis' | 'wechat'> {
  /** Deadline of each readiness check (default 2,000 ms). */
  checkTimeoutMs?: number;
  /** ADMIN_TOKEN: callers presenting it see each failing check's error text. */
  config?: Pick<Config, 'ADMIN_TOKEN'> & Partial<Pick<Config, 'QUEUE_PREFIX'>>;
}

/** The operator view's quota rows are shared through Redis this long (quota/get is a WeChat call). */
const QUOTA_MAX_AGE_MS = 60_000;

const startedAt = Date.now();

/** How long the result of a check that may call WeChat is reused (success or failure). */
export const LIVE_CHECK_TTL_MS = 60_000;

export function healthRoutes(deps: HealthDeps): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok', uptime_s: Math.round((Date.now() - startedAt) / 1000) }));
  /**
   * The token check. Anonymous probes never reach WeChat: they see a token cached in Redis, or the
   * last live result (a refused token stays red for everyone). An operator's probe (admin bearer)
   * may fetch a token, at most once per LIVE_CHECK_TTL_MS however many probes arrive: 500 probes
   * while WeChat refused tokens once made 500 /cgi-bin/token calls (the daily allowance is 2,000).
   */
  let live: { at: number; result: Promise<CheckResult> } | undefined;
  const tokenCheck = async (operator: boolean): Promise<CheckResult> => {
    const fresh = live !== undefined && Date.now() - live.at < LIVE_CHECK_TTL_MS;
    if (operator && !fresh) live = { at: Date.now(), result: liveTokenCheck(deps, deps.checkTimeoutMs) };
    const cached = await cachedTokenCheck(deps, deps.checkTimeoutMs);
    if (cached.ok && !operator) return cached;
    return live ? live.result : cached;
  };
  app.get('/readyz', async (c) => {
    const adminToken = deps.config?.ADMIN_TOKEN;
    const operator = adminToken !== undefined && hasAdminBearer(c, adminToken);
    const report = await checkReadiness(deps, {
      timeoutMs: deps.checkTimeoutMs,
      token: () => tokenCheck(operator),
    });
    c.header('Cache-Control', 'no-store');
    // Operators also see today's API quotas; anonymous probes never cause a quota/get call.
    const quota = operator ? await operatorQuota(deps) : undefined;
    return c.json(
      {
        status: report.ok ? 'ok' : 'fail',
        checks: Object.fromEntries(
          report.checks.map(({ name, error, ...rest }) => [name, operator ? { ...rest, error } : rest]),
        ),
        ...(quota === undefined ? {} : { quota }),
      },
      report.ok ? 200 : 503,
    );
  });
  return app;
}

async function operatorQuota(deps: HealthDeps): Promise<unknown> {
  try {
    const report = await withTimeout(
      cachedQuotaReport(deps.wechat, deps.redis, {
        keyPrefix: deps.config?.QUEUE_PREFIX ?? 'wxsync',
        maxAgeMs: QUOTA_MAX_AGE_MS,
      }),
      deps.checkTimeoutMs ?? 2_000,
    );
    return { at: report.at.toISOString(), paths: report.rows };
  } catch (error) {
    return { error: safeErrorText(error) };
  }
}
