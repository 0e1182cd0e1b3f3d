/**
 * Issue 11 §4, what WeChat really returns, through the real syncs: empty post-2021 profile
 * defaults never blank stored values; the follower sync stops on the empty last page while
 * totals drift; user_source codes get labels (unknown ones stay numbers); WeChat's rid reaches
 * sync_runs.error.
 */
import { describe, expect, it } from 'vitest';
import { SYNC_JOBS } from '../../jobs/registry.ts';
import { runSyncJob } from '../../jobs/runner.ts';
import { addDays, beijingYesterday } from '../../src/calendar.ts';
import { listRuns } from '../../src/db/sync-runs.ts';
import { mirrorOf, sorted } from '../support/mirror.ts';
import { perFile } from '../support/per-file.ts';
import { syncTestEnv } from '../support/sync-env.ts';

const FOLLOWERS = 12_345;
const env = perFile(() =>
  syncTestEnv({
    followers: FOLLOWERS,
    seed: 404,
    profiles: 'legacy',
    statsDays: 30,
    blacklist: 0,
  }),
);

const followers = () => runSyncJob(SYNC_JOBS.followers, { trigger: 'test' }, env.deps);

describe('what WeChat really returns', () => {
  it('stops on the empty last page (short page, then count 0 without data) while totals drift', async () => {
    const before = env.fake.calls.count('user/get');
    await followers();
    // 10,000 + 2,345, then the empty page: three calls, never a page-size guess; plus one before
    // them: a first sync knows no follower total, so its quota plan reads it from the first page.
    expect(env.fake.calls.count('user/get') - before).toBe(4);
    const m = await mirrorOf(env.t.db);
    expect(m.subscribed).toEqual(sorted(env.fake.state.followerOpenids()));
  });

  it('once WeChat sends empty defaults, stored names, avatars, sex and places stay, and updated_at does not move', async () => {
    const sample = env.fake.state.followerOpenids().slice(0, 2_000);
    const rich = await env.t.db.follower.findMany({
      where: { openid: { in: sample }, nickname: { not: '' } },
      orderBy: { openid: 'asc' },
    });
    expect(rich.length).toBeGreaterThan(1_000);
    env.fake.state.setProfiles('modern');
    const result = await followers();
    expect(result.counts).toMatchObject({ inserted: 0, changed: 0 });
    const after = await env.t.db.follower.findMany({
      where: { openid: { in: rich.map((r) => r.openid) } },
      orderBy: { openid: 'asc' },
    });
    const view = (r: (typeof rich)[number]) => ({
      openid: r.openid,
      nickname: r.nickname,
      sex: r.sex,
      city: r.city,
      province: r.province,
      country: r.country,
      headimgurl: r.headimgurl,
      updatedAt: r.updatedAt.toISOString(),
    });
    expect(after.map(view)).toEqual(rich.map(view));
    // Fields WeChat still sends keep following it.
    const target = rich[0]!.openid;
    env.fake.state.editProfile(target, { remark: 'still synced' });
    await followers();
    expect(await env.t.db.follower.findUniqueOrThrow({ where: { openid: target } })).toMatchObject({
      remark: 'still synced',
      nickname: rich[0]!.nickname,
    });
  });

  it('labels the user_source codes WeChat added (200 Channels, 201 live) and shows unknown codes as numbers', async () => {
    const to = beijingYesterday(new Date());
    await runSyncJob(SYNC_JOBS.datacube, { trigger: 'test', from: addDays(to, -29), to }, env.deps);
    const rows = await env.t.db.$queryRaw<{ user_source: number; zh: string; en: string }[]>`
      SELECT DISTINCT user_source, source_label_zh AS zh, source_label_en AS en
      FROM daily_growth_by_source ORDER BY user_source`;
    const bySource = new Map(rows.map((r) => [r.user_source, r]));
    // Across 30 days every generated source shows up.
    expect(bySource.get(200)).toMatchObject({ zh: '视频号', en: 'Channels' });
    expect(bySource.get(201)).toMatchObject({ zh: '直播', en: 'live stream' });
    expect(bySource.get(999)).toMatchObject({ zh: '999', en: '999' });
    expect(await env.t.db.userSummary.count({ where: { userSource: 999 } })).toBeGreaterThan(0);
  });

  it("keeps WeChat's rid in the error and in sync_runs.error", async () => {
    env.fake.faults.set('user/get', { errcode: 48001, errorRate: 1 });
    try {
      const error = await followers().catch((e: unknown) => e);
      expect((error as { rid?: string }).rid).toMatch(/^[\w-]+$/);
      const rid = (error as { rid: string }).rid;
      const [run] = await listRuns(env.t.db, { job: 'followers', limit: 1 });
      expect(run!.status).toBe('failed');
      expect(run!.error).toContain(`rid: ${rid}`);
      expect(run!.error).toContain('48001');
    } finally {
      env.fake.faults.clear();
    }
  });
});
