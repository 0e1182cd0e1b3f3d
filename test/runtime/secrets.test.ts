/**
 * No secret reaches a log line, whatever fails. `wxsync serve` and `wxsync worker` run against a
 * private Redis that requires a password they do not have: every connection and BullMQ object
 * (queues, queue events, workers) is refused over and over. Before, BullMQ objects without an
 * `error` listener fell back to console.error(err), which printed the AUTH command's arguments
 * (user and password) dozens of times. Every line must now be a pino JSON line, and no secret of
 * the configuration may appear anywhere in the output.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_WECHAT } from '../support/env.ts';
import { killAllChildren, spawnNode, until } from '../support/processes.ts';
import { freePort, startRedis, stopRedis } from '../support/redis-server.ts';

const SECRETS = {
  redisUser: 'wxsyncRedisUser42',
  redisPassword: 'NotTheRedisPassword8431',
  dbPassword: 'DbPasswordThatMustNotLeak77',
  adminToken: 'admin-token-that-must-not-leak-0001',
  ...TEST_WECHAT,
};

let redis: ChildProcess;
let port: number;

beforeAll(async () => {
  port = await freePort();
  redis = await startRedis(port, { password: 'theRealRedisPassword123' });
});

afterAll(async () => {
  await killAllChildren();
  if (redis) await stopRedis(redis);
});

function envFor(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...TEST_WECHAT,
    WECHAT_API_BASE: 'http://127.0.0.1:9', // nothing answers: WeChat failures must not leak either
    DATABASE_URL: `postgresql://root:${SECRETS.dbPassword}@127.0.0.1:5432/postgres`,
    REDIS_URL: `redis://${SECRETS.redisUser}:${SECRETS.redisPassword}@127.0.0.1:${port}`,
    ADMIN_TOKEN: SECRETS.adminToken,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'debug',
    WORKER_METRICS_PORT: '0',
  };
}

function expectNoSecret(output: string): void {
  for (const [name, value] of Object.entries(SECRETS)) {
    expect(output.includes(value), `${name} appears in the output`).toBe(false);
  }
  // Every line went through pino (no console.error of an error object, no ioredis fallback).
  for (const line of output.split('\n').filter(Boolean)) {
    expect(() => JSON.parse(line), line.slice(0, 200)).not.toThrow();
  }
}

describe('a wrong Redis password', () => {
  it('wxsync serve logs the refusals through pino, and no secret', async () => {
    const serve = spawnNode(['bin/wxsync.mjs', 'serve'], envFor());
    await until('the server to listen', () => serve.output().includes('wxsync server listening'), 60_000);
    const url = /"url":"(http:[^"]+)"/.exec(serve.output())?.[1];
    // Requests that use the queues and the token store: /wx, /readyz, the admin API.
    for (let i = 0; i < 3; i++) {
      await fetch(`${url}/wx?signature=x&timestamp=1&nonce=1`, { method: 'POST', body: '<xml/>' }).catch(
        () => 0,
      );
      await fetch(`${url}/readyz`, { headers: { authorization: `Bearer ${SECRETS.adminToken}` } }).catch(
        () => 0,
      );
      await fetch(`${url}/admin/runs`, { headers: { authorization: `Bearer ${SECRETS.adminToken}` } }).catch(
        () => 0,
      );
    }
    await until('several refusals', () => (serve.output().match(/WRONGPASS/g) ?? []).length >= 3, 60_000);
    await new Promise((r) => setTimeout(r, 3_000));
    serve.child.kill('SIGKILL');
    await serve.exit;
    expectNoSecret(serve.output());
    expect(serve.output()).toMatch(/"msg":"redis connection[^"]* error"/);
  });

  it('wxsync worker logs the refusals through pino, and no secret; SIGTERM still stops it', async () => {
    const worker = spawnNode(['bin/wxsync.mjs', 'worker'], envFor());
    await until('several refusals', () => (worker.output().match(/WRONGPASS/g) ?? []).length >= 3, 60_000);
    await new Promise((r) => setTimeout(r, 5_000));
    // Before, the sync worker's close (and QUIT) waited forever for a connection Redis refused.
    worker.child.kill('SIGTERM');
    let exited = false;
    void worker.exit.then(() => {
      exited = true;
    });
    await until('the worker to exit after SIGTERM', () => exited, 30_000);
    expectNoSecret(worker.output());
  });
});
