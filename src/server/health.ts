/**
 * `/healthz`: the process is up and serving (liveness: restart it if this fails).
 * `/readyz`: PostgreSQL, Redis and an access_token are all usable (readiness: route traffic to it
 * only when green). Both are unauthenticated for load balancers and orchestrators; /readyz answers
 * per dependency with a short, secret-free error and an operator hint, 503 when any is red.
 */
import { Hono } from 'hono';
import { checkReadiness } from '../ops/checks.ts';
import type { OpsDeps } from '../ops/deps.ts';

export interface HealthDeps extends Pick<OpsDeps, 'db' | 'redis' | 'wechat'> {
  /** Deadline of each readiness check (default 2,000 ms). */
  checkTimeoutMs?: number;
}

const startedAt = Date.now();

export function healthRoutes(deps: HealthDeps): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok', uptime_s: Math.round((Date.now() - startedAt) / 1000) }));
  app.get('/readyz', async (c) => {
    const report = await checkReadiness(deps, { timeoutMs: deps.checkTimeoutMs });
    c.header('Cache-Control', 'no-store');
    return c.json(
      {
        status: report.ok ? 'ok' : 'fail',
        checks: Object.fromEntries(report.checks.map(({ name, ...rest }) => [name, rest])),
      },
      report.ok ? 200 : 503,
    );
  });
  return app;
}
