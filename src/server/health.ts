/**
 * `/healthz`: the process is up and serving (liveness: restart it if this fails).
 * `/readyz`: PostgreSQL, Redis and an access_token are all usable (readiness: route traffic to it
 * only when green). Both are unauthenticated for load balancers and orchestrators; /readyz answers
 * per dependency with its status and an operator hint, 503 when any is red. The error text itself
 * (hosts, ports, WeChat's errmsg, which names the server's egress IP) only goes to an operator
 * who sends the admin bearer token: this listener is public, since it serves /wx.
 */
import { Hono } from 'hono';
import type { Config } from '../config.ts';
import { checkReadiness, withTimeout } from '../ops/checks.ts';
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

export function healthRoutes(deps: HealthDeps): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok', uptime_s: Math.round((Date.now() - startedAt) / 1000) }));
  app.get('/readyz', async (c) => {
    const report = await checkReadiness(deps, { timeoutMs: deps.checkTimeoutMs });
    const adminToken = deps.config?.ADMIN_TOKEN;
    const operator = adminToken !== undefined && hasAdminBearer(c, adminToken);
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
