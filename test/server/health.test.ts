/**
 * /healthz and /readyz against real dependencies. Redis outage: a private redis-server this file
 * spawns on a free port is stopped and started again (the shared Redis on 6379 is never touched).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDb } from '../../src/db/client.ts';
import { createLogger } from '../../src/logger.ts';
import { createRedis } from '../../src/redis.ts';
import { healthRoutes } from '../../src/server/health.ts';
import { createWeChatClient } from '../../src/wechat/client.ts';
import { adminSql, testDatabaseUrl } from '../support/db.ts';
import { bearer, opsTestEnv } from '../support/ops-env.ts';
import { perFile } from '../support/per-file.ts';
import { freePort, startRedis, stopRedis } from '../support/redis-server.ts';

type Readyz = { status: string; checks: Record<string, { ok: boolean; error?: string; hint?: string }> };

const h = perFile(() => opsTestEnv());

const readyz = async (
  app: { request: (p: string, init?: RequestInit) => Response | Promise<Response> },
  init?: RequestInit,
) => {
  const res = await app.request('/readyz', init);
  return { status: res.status, body: (await res.json()) as Readyz };
};

/**
 * Health routes whose WeChat client has a secret WeChat refuses (its own token prefix, so the
 * shared token stays out of it), with an operator token for the detailed answer.
 */
function wrongSecretHealth(suffix: string) {
  const wechat = createWeChatClient(
    {
      ...h.config,
      WECHAT_APP_SECRET: 'wrongsecret0123456789abcdef01234',
      QUEUE_PREFIX: `${h.prefix}-${suffix}`,
    },
    { redis: h.deps.redis, log: createLogger('silent', { pretty: false }) },
  );
  const adminToken = 'readyz-operator-token-0123456789';
  const app = healthRoutes({
    db: h.deps.db,
    redis: h.deps.redis,
    wechat,
    config: { ADMIN_TOKEN: adminToken },
  });
  return { wechat, app, adminToken };
}

describe('health', () => {
  it('/healthz answers while the process is up', async () => {
    const res = await h.app.request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok' });
  });

  it('/readyz is green with PostgreSQL, the schema, Redis and an access_token', async () => {
    // Anonymous probes never fetch a token: the worker (or an operator's check) has cached one.
    await h.deps.wechat.tokens.get();
    const { status, body } = await readyz(h.app);
    expect(status).toBe(200);
    expect(body.status).toBe('ok');
    expect(Object.keys(body.checks).sort()).toEqual(['postgres', 'redis', 'schema', 'wechat_token']);
    expect(Object.values(body.checks).every((c) => c.ok)).toBe(true);
  });

  it('/readyz shows the API quotas to an operator only; anonymous probes never call quota/get', async () => {
    const before = h.fake.calls.count('quota/get');
    const anonymous = await readyz(h.app);
    expect(anonymous.body).not.toHaveProperty('quota');
    expect(h.fake.calls.count('quota/get')).toBe(before);
    const operator = await readyz(h.app, { headers: bearer() });
    const quota = (
      operator.body as unknown as { quota: { at: string; paths: { path: string; remain: number }[] } }
    ).quota;
    expect(quota.paths.find((p) => p.path === '/cgi-bin/user/get')?.remain).toBeGreaterThan(0);
    expect(h.fake.calls.count('quota/get')).toBeGreaterThan(before);
  });

  it('/readyz turns red (503) when Redis stops, and green again when it is back', async () => {
    const port = await freePort();
    // Persistent, as deployed (compose runs Redis with appendonly): the cached token survives.
    const aofDir = mkdtempSync(join(tmpdir(), 'wxsync-readyz-'));
    let server = await startRedis(port, { aofDir });
    const url = `redis://127.0.0.1:${port}`;
    const redis = createRedis(url, 'service', 'wxsync-test-readyz');
    redis.on('error', () => undefined); // the outage is the point: no unhandled-error noise
    const wechat = createWeChatClient({ ...h.config, REDIS_URL: url }, { redis, log: h.deps.log });
    const app = healthRoutes({ db: h.deps.db, redis, wechat, checkTimeoutMs: 1_000 });
    try {
      await wechat.tokens.get(); // anonymous probes never fetch one themselves
      let r = await readyz(app);
      expect(r.status).toBe(200);

      await stopRedis(server);
      r = await readyz(app);
      expect(r.status).toBe(503);
      expect(r.body.status).toBe('fail');
      expect(r.body.checks.redis).toMatchObject({ ok: false });
      expect(r.body.checks.redis!.hint).toMatch(/start Redis/);
      expect(r.body.checks.postgres).toMatchObject({ ok: true });

      server = await startRedis(port, { aofDir });
      // ioredis reconnects on its own backoff; the probe goes green once it has.
      for (let i = 0; i < 50 && r.status !== 200; i++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        r = await readyz(app);
      }
      expect(r.status).toBe(200);
      expect(r.body.checks.redis).toMatchObject({ ok: true });
    } finally {
      wechat.close();
      redis.disconnect();
      await stopRedis(server);
      rmSync(aofDir, { recursive: true, force: true });
    }
  });

  it('/readyz is red when PostgreSQL is unreachable, without leaking the URL', async () => {
    const port = await freePort();
    const db = createDb(`postgresql://root:pw-not-shown@127.0.0.1:${port}/nowhere`);
    try {
      const app = healthRoutes({ db, redis: h.deps.redis, wechat: h.deps.wechat, checkTimeoutMs: 1_000 });
      const r = await readyz(app);
      expect(r.status).toBe(503);
      expect(r.body.checks.postgres).toMatchObject({ ok: false });
      expect(r.body.checks.schema).toBeUndefined();
      expect(r.body.checks.redis).toMatchObject({ ok: true });
      expect(JSON.stringify(r.body)).not.toContain('pw-not-shown');
    } finally {
      await db.$disconnect();
    }
  });

  it('/readyz says to migrate when the database has no schema', async () => {
    const name = `wxsync_t_empty_${Date.now().toString(36)}`;
    await adminSql(`CREATE DATABASE ${name}`);
    const db = createDb(testDatabaseUrl(name));
    try {
      const r = await readyz(healthRoutes({ db, redis: h.deps.redis, wechat: h.deps.wechat }));
      expect(r.status).toBe(503);
      expect(r.body.checks.postgres).toMatchObject({ ok: true });
      expect(r.body.checks.schema).toMatchObject({ ok: false });
      expect(r.body.checks.schema!.hint).toMatch(/wxsync db migrate/);
    } finally {
      await db.$disconnect();
      await adminSql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  });

  it('/readyz is red when WeChat refuses the token (bad credentials)', async () => {
    const { wechat, app, adminToken } = wrongSecretHealth('badcred');
    try {
      const r = await readyz(app, { headers: { authorization: `Bearer ${adminToken}` } });
      expect(r.status).toBe(503);
      expect(r.body.checks.wechat_token).toMatchObject({ ok: false });
      expect(r.body.checks.wechat_token!.error).toMatch(/40125|40013|errcode/);
      expect(JSON.stringify(r.body)).not.toContain('wrongsecret');
      // Anonymous callers (this listener is public) get the verdict and the hint, not the error text.
      const anonymous = await readyz(app);
      expect(anonymous.status).toBe(503);
      expect(anonymous.body.checks.wechat_token).toMatchObject({ ok: false });
      expect(anonymous.body.checks.wechat_token!.error).toBeUndefined();
      expect(anonymous.body.checks.wechat_token!.hint).toBeTruthy();
    } finally {
      wechat.close();
    }
  });

  it('anonymous /readyz never calls WeChat; an operator probe does at most once a minute', async () => {
    const { wechat, app, adminToken } = wrongSecretHealth('flood');
    try {
      // Either token endpoint (the client may use /cgi-bin/token or /cgi-bin/stable_token).
      const tokenCalls = () => h.fake.calls.count('token') + h.fake.calls.count('stable_token');
      const before = tokenCalls();
      // 500 anonymous probes while no token is cached and WeChat would refuse one: no token call.
      const anonymous = await Promise.all(Array.from({ length: 500 }, () => readyz(app)));
      expect(anonymous.every((r) => r.status === 503 && r.body.checks.wechat_token?.ok === false)).toBe(true);
      expect(anonymous[0]!.body.checks.wechat_token!.hint).toBeTruthy();
      expect(tokenCalls() - before).toBe(0);
      // Operators see a live check, cached: 50 probes in a row, one fetch attempt (with its retries).
      const operator = { headers: { authorization: `Bearer ${adminToken}` } };
      const first = await readyz(app, operator);
      expect(first.body.checks.wechat_token!.error).toMatch(/40125|40013|errcode/);
      const afterFirst = tokenCalls();
      expect(afterFirst - before).toBeGreaterThan(0);
      for (let i = 0; i < 50; i++) expect((await readyz(app, operator)).status).toBe(503);
      expect(tokenCalls()).toBe(afterFirst);
      // Anonymous callers now see that cached failure, still without calling WeChat.
      expect((await readyz(app)).body.checks.wechat_token!.ok).toBe(false);
      expect(tokenCalls()).toBe(afterFirst);
    } finally {
      wechat.close();
    }
  });
});
