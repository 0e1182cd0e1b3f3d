/**
 * Chaos 3: PostgreSQL connections dropped mid-batch. While a worker process runs the follower sync,
 * the test repeatedly terminates every backend of the test database (pg_terminate_backend, what a
 * failover or an operator's kill does). A statement in flight fails; the attempt fails, BullMQ
 * retries it and it resumes from its checkpoint; the worker process survives and the mirror ends
 * exact.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRuns } from '../../src/db/sync-runs.ts';
import { chaosTestEnv, HEAVY } from '../support/chaos.ts';
import { ADMIN_URL } from '../support/db.ts';
import { perFile } from '../support/per-file.ts';
import { until } from '../support/processes.ts';

const FOLLOWERS = HEAVY ? 100_000 : 10_000;

const env = perFile(async () => {
  const env = await chaosTestEnv({ followers: FOLLOWERS, seed: 73, blacklist: 0 });
  env.fake.faults.set('user/info/batchget', { latencyMs: 20 });
  return env;
});
let admin: pg.Client;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
});

afterAll(async () => {
  await admin?.end();
});

/**
 * Terminates every backend of the test database that is running a statement right now (an idle
 * connection that dies is simply replaced by the pool, which fails nothing); returns how many.
 */
async function terminateBackends(): Promise<number> {
  const { rows } = await admin.query(
    `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
     WHERE datname = $1 AND pid <> pg_backend_pid() AND state = 'active'`,
    [env.t.name],
  );
  return rows.filter((r: { ok: boolean }) => r.ok).length;
}

describe('PostgreSQL backends terminated during a follower sync', () => {
  it('the job retries, resumes and converges to the exact mirror', async () => {
    const worker = await env.startChildWorkers({ LOG_LEVEL: 'silent' });
    const job = await env.addFollowersJob('chaos-pg');
    const attempts = job.opts.attempts ?? 1;

    // Keep dropping connections while the job runs, as long as the product's retry budget allows
    // (attempts - 1 failed attempts): more than that and no policy could converge.
    let terminated = 0;
    let rounds = 0;
    const state = async () => (await env.queues.sync.getJob(job.id!))!;
    for (;;) {
      const current = await state();
      const s = await current.getState();
      if (s === 'completed' || s === 'failed' || current.attemptsMade >= attempts - 1) break;
      if (s === 'active') {
        terminated += await terminateBackends();
        rounds += 1;
      }
      // Often enough to catch statements in flight: a 1,000-row upsert runs for tens of ms. Terminating
      // only backends caught mid-statement makes every hit a failed statement, however fast or slow
      // the machine runs the sync (killing every backend on a timer could miss them all).
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 10));
    }
    await until(
      'the sync job to finish',
      async () => ['completed', 'failed'].includes(await (await state()).getState()),
      120_000,
      200,
    );

    const done = await state();
    expect(await done.getState()).toBe('completed');
    // The chaos really hit statements mid-batch: at least one attempt failed and was retried.
    expect(terminated).toBeGreaterThan(0);
    expect(rounds).toBeGreaterThan(1);
    expect(done.attemptsMade).toBeGreaterThanOrEqual(1);
    const runs = await listRuns(env.t.db, { job: 'followers' });
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: 'succeeded' });
    expect(runs[0]!.attempts).toBeGreaterThanOrEqual(2);
    await env.expectExactMirror([]);
    // The worker process lived through every dropped connection.
    expect(worker.child.exitCode).toBe(null);
  }, 180_000);
});
