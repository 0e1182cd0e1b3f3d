/**
 * Sync jobs from the admin API (trigger, runs, retry) and /metrics after a small real sync: the
 * followers job runs inline against the fake platform, then the scrape must show its counters.
 */
import { describe, expect, it } from 'vitest';
import { SYNC_JOBS } from '../../jobs/registry.ts';
import { runSyncJob } from '../../jobs/runner.ts';
import { bearer, jsonHeaders, opsTestEnv } from '../support/ops-env.ts';
import { perFile } from '../support/per-file.ts';

const h = perFile(() => opsTestEnv({ fake: { followers: 60, blacklist: 2, statsDays: 10 } }));

const syncQueue = () => h.queues.find((q) => q.name === 'sync')!;
const post = (path: string, body?: unknown) =>
  h.app.request(path, {
    method: 'POST',
    headers: jsonHeaders(),
    body: body === undefined ? undefined : JSON.stringify(body),
  });

/** The value of one sample of the scrape, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('trigger a sync job', () => {
  it('enqueues datacube with its date range, and a second trigger joins the queued job', async () => {
    const res = await post('/admin/sync/datacube', { from: '2024-03-01', to: '2024-03-07' });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { job: string; job_id: string; joined: boolean; payload: unknown };
    expect(body).toMatchObject({ job: 'datacube', joined: false });
    expect(body.payload).toEqual({ from: '2024-03-01', to: '2024-03-07', trigger: 'admin' });
    const job = await syncQueue().getJob(body.job_id);
    expect(job?.name).toBe('datacube');
    expect(job?.data).toEqual({ from: '2024-03-01', to: '2024-03-07', trigger: 'admin' });

    const again = (await (
      await post('/admin/sync/datacube', { from: '2024-03-01', to: '2024-03-07' })
    ).json()) as {
      job_id: string;
      joined: boolean;
    };
    expect(again).toMatchObject({ joined: true, job_id: body.job_id });
  });

  it('a trigger with other parameters is queued behind the pending job, never folded into it', async () => {
    const first = (await (
      await post('/admin/sync/datacube', { from: '2024-03-01', to: '2024-03-07' })
    ).json()) as {
      job_id: string;
    };
    const res = await post('/admin/sync/datacube', { from: '2024-02-01', to: '2024-03-01' });
    expect(res.status).toBe(202);
    const body = (await res.json()) as {
      job_id: string;
      joined: boolean;
      queued_behind: { id: string; params: Record<string, unknown> }[];
      message: string;
    };
    expect(body.joined).toBe(false);
    expect(body.job_id).not.toBe(first.job_id);
    expect(body.queued_behind.map((b) => b.id)).toContain(first.job_id);
    expect(body.queued_behind.find((b) => b.id === first.job_id)?.params).toMatchObject({
      from: '2024-03-01',
      to: '2024-03-07',
    });
    expect(body.message).toMatch(/queued behind .*from=2024-03-01 to=2024-03-07/);
    expect((await syncQueue().getJob(body.job_id))?.data).toEqual({
      from: '2024-02-01',
      to: '2024-03-01',
      trigger: 'admin',
    });
  });

  it('passes the follower mode and force through, and refuses options a job does not take', async () => {
    const listing = (await (
      await post('/admin/sync/followers', { mode: 'listing', force: true })
    ).json()) as {
      job_id: string;
      payload: unknown;
    };
    expect(listing.payload).toEqual({ trigger: 'admin', mode: 'listing', force: true });
    expect((await syncQueue().getJob(listing.job_id))?.data).toEqual({
      trigger: 'admin',
      mode: 'listing',
      force: true,
    });
    const cases: [string, unknown, RegExp][] = [
      ['/admin/sync/followers', { mode: 'sometimes' }, /mode must be one of listing, full/],
      ['/admin/sync/followers', { force: 'yes' }, /force/],
      ['/admin/sync/datacube', { mode: 'full' }, /the datacube sync takes no mode/],
    ];
    for (const [path, body, match] of cases) {
      const res = await post(path, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(((await res.json()) as { message: string }).message).toMatch(match);
    }
  });

  it('enqueues followers with an empty body (its defaults)', async () => {
    const res = await post('/admin/sync/followers');
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ job: 'followers', payload: { trigger: 'admin' } });
  });

  it('refuses bad triggers with 400', async () => {
    const cases: [string, unknown, RegExp][] = [
      ['/admin/sync/nope', {}, /job must be one of followers, blacklist, datacube, publisher, tags/],
      ['/admin/sync/followers', { from: '2024-03-01' }, /takes no date range/],
      ['/admin/sync/datacube', { from: '2024-03-09', to: '2024-03-01' }, /from must not be after to/],
      ['/admin/sync/datacube', { from: '2024/03/01' }, /from: expected YYYY-MM-DD/],
      ['/admin/sync/publisher', { from: '2020-01-01', to: '2024-01-01' }, /at most 366 days/],
      ['/admin/sync/datacube', { from: '0100-01-01' }, /must be between 2000-01-01/],
      ['/admin/sync/datacube', { from: '2001-01-01' }, /at most 366 days/],
      ['/admin/sync/publisher', { to: '9999-12-31' }, /must be between/],
    ];
    for (const [path, body, match] of cases) {
      const res = await post(path, body);
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as { message: string }).message).toMatch(match);
    }
  });
});

describe('runs and /metrics after a small sync', () => {
  it('lists the run and exposes the counters of src/metrics.ts', async () => {
    const result = await runSyncJob(SYNC_JOBS.followers, { trigger: 'test' }, h.deps);
    expect(result.counts).toBeDefined();

    const runs = (await (await h.app.request('/admin/runs?job=followers', { headers: bearer() })).json()) as {
      runs: { id: number; job: string; status: string }[];
    };
    expect(runs.runs[0]).toMatchObject({ id: result.runId, job: 'followers', status: 'succeeded' });

    // Something for the request counter and the queue gauge to show.
    await h.app.request('/admin/ips', { headers: bearer() });
    const res = await h.app.request('/metrics', { headers: bearer() });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();

    const stored = await h.deps.db.follower.count();
    expect(stored).toBeGreaterThan(0);
    expect(sample(text, 'wxsync_rows_upserted_total', { table: 'followers' })).toBe(stored);
    expect(
      sample(text, 'wxsync_wechat_api_calls_total', { endpoint: '/cgi-bin/user/get', errcode: '0' }),
    ).toBeGreaterThan(0);
    expect(
      sample(text, 'wxsync_wechat_api_calls_total', {
        endpoint: '/cgi-bin/user/info/batchget',
        errcode: '0',
      }),
    ).toBeGreaterThan(0);
    expect(sample(text, 'wxsync_access_token_refreshes_total')).toBeGreaterThanOrEqual(1);
    const run = await h.deps.db.syncRun.findUniqueOrThrow({ where: { id: BigInt(result.runId) } });
    expect(sample(text, 'wxsync_sync_last_success_timestamp_seconds', { job: 'followers' })).toBeCloseTo(
      run.finishedAt!.getTime() / 1000,
      2,
    );
    expect(
      sample(text, 'wxsync_http_requests_total', { route: '/admin/ips', status: '200' }),
    ).toBeGreaterThan(0);
    // Two jobs were queued above and no worker runs in this file.
    const waiting = await syncQueue().getWaitingCount();
    expect(waiting).toBeGreaterThan(0);
    expect(sample(text, 'wxsync_queue_jobs', { queue: 'sync', state: 'waiting' })).toBe(waiting);
    expect(sample(text, 'wxsync_queue_jobs', { queue: 'events', state: 'waiting' })).toBe(0);
    expect(text).toContain('# TYPE wxsync_job_duration_seconds histogram');
    expect(text).toContain('# TYPE wxsync_wx_pushes_total counter');
  });
});

describe('retry a failed run', () => {
  it('enqueues the failed run again with its parameters', async () => {
    const failed = await h.deps.db.syncRun.create({
      data: {
        job: 'publisher',
        params: { from: '2024-02-01', to: '2024-02-10' },
        trigger: 'schedule',
        status: 'failed',
        finishedAt: new Date(),
        error: 'WeChat /publisher/stat failed: errcode 45009',
      },
    });
    const res = await post(`/admin/runs/${failed.id}/retry`);
    expect(res.status).toBe(202);
    const body = (await res.json()) as { retried_run: number; job: string; job_id: string };
    expect(body).toMatchObject({ retried_run: Number(failed.id), job: 'publisher' });
    const job = await syncQueue().getJob(body.job_id);
    expect(job?.data).toEqual({ from: '2024-02-01', to: '2024-02-10', trigger: 'admin' });
  });

  it('refuses runs that did not fail (409), unknown runs (404) and bad ids (400)', async () => {
    const ok = await h.deps.db.syncRun.create({
      data: { job: 'blacklist', status: 'succeeded', finishedAt: new Date() },
    });
    const conflict = await post(`/admin/runs/${ok.id}/retry`);
    expect(conflict.status).toBe(409);
    expect(((await conflict.json()) as { message: string }).message).toMatch(
      /only failed, skipped, paused runs can be retried/,
    );
    expect((await post('/admin/runs/999999/retry')).status).toBe(404);
    expect((await post('/admin/runs/abc/retry')).status).toBe(400);
    expect((await h.app.request('/admin/runs?limit=5000', { headers: bearer() })).status).toBe(400);
  });
});
