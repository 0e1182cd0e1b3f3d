/** Datacube and publisher syncs against the fake platform: windows, clipping, paging, idempotence. */
import { describe, expect, it } from 'vitest';
import { SYNC_JOBS } from '../../jobs/registry.ts';
import { runSyncJob } from '../../jobs/runner.ts';
import { addDays, beijingDate, beijingYesterday, daysOf, resolveRange } from '../../src/calendar.ts';
import { getRun, saveCheckpoint, startRun } from '../../src/db/sync-runs.ts';
import { InputError } from '../../src/errors.ts';
import { lastSuccessfulRun } from '../../src/metrics.ts';
import { perFile } from '../support/per-file.ts';
import { syncTestEnv } from '../support/sync-env.ts';

const env = perFile(() => syncTestEnv({ followers: 500, seed: 5, statsDays: 200 }));

const yesterday = () => beijingYesterday(new Date());
const datacube = (from?: string, to?: string) =>
  runSyncJob(SYNC_JOBS.datacube, { trigger: 'test', from, to }, env.deps);
const publisher = (from?: string, to?: string) =>
  runSyncJob(SYNC_JOBS.publisher, { trigger: 'test', from, to }, env.deps);

const iso = (d: Date) => d.toISOString().slice(0, 10);

async function storedDatacube() {
  const summary = await env.t.db.userSummary.findMany({
    orderBy: [{ refDate: 'asc' }, { userSource: 'asc' }],
  });
  const cumulate = await env.t.db.userCumulate.findMany({ orderBy: { refDate: 'asc' } });
  return {
    summary: summary.map((r) => ({
      ref_date: iso(r.refDate),
      user_source: r.userSource,
      new_user: r.newUser,
      cancel_user: r.cancelUser,
    })),
    cumulate: cumulate.map((r) => ({ ref_date: iso(r.refDate), cumulate_user: r.cumulateUser })),
  };
}

/** The fake's own series over [from, to], in the same shape and order as storedDatacube(). */
function fakeDatacube(from: string, to: string) {
  const stats = env.fake.state.stats;
  const inRange = (d: string) => d >= from && d <= to;
  const summary = [...stats.summary.values()]
    .flat()
    .filter((r) => inRange(r.ref_date))
    .sort((a, b) =>
      a.ref_date === b.ref_date ? a.user_source - b.user_source : a.ref_date < b.ref_date ? -1 : 1,
    );
  const cumulate = [...stats.cumulate.values()]
    .filter((r) => inRange(r.ref_date))
    .sort((a, b) => (a.ref_date < b.ref_date ? -1 : 1));
  return { summary, cumulate };
}

describe('datacube sync', () => {
  it('backfills 45 days in 7 windows per endpoint and stores all 45 days', async () => {
    const to = yesterday();
    const from = addDays(to, -44);
    const r = await datacube(from, to);
    expect(env.fake.calls.count('getusersummary')).toBe(7);
    expect(env.fake.calls.count('getusercumulate')).toBe(7);
    expect(r.counts).toMatchObject({ windows: 7, windowsDone: 7, cumulateRows: 45 });
    const stored = await storedDatacube();
    expect(new Set(stored.cumulate.map((c) => c.ref_date)).size).toBe(45);
    expect(new Set(stored.summary.map((s) => s.ref_date)).size).toBe(45);
    expect(stored).toEqual(fakeDatacube(from, to));
  });

  it('is idempotent: the same range again leaves the same rows', async () => {
    const before = await storedDatacube();
    const to = yesterday();
    await datacube(addDays(to, -44), to);
    expect(await storedDatacube()).toEqual(before);
  });

  it('clips a range reaching today to yesterday, with a warning in the log and the counts', async () => {
    const to = yesterday();
    const logsBefore = env.logs.length;
    const r = await datacube(addDays(to, -60), beijingDate(new Date()));
    expect(r.counts.clippedTo).toBe(to);
    expect(String(r.counts.warning)).toContain(to);
    const warnings = env.logs.slice(logsBefore).filter((l) => l.level === 40);
    expect(warnings.map((w) => w.msg)).toContainEqual(expect.stringContaining(`clipped to ${to}`));
    expect(await storedDatacube()).toEqual(fakeDatacube(addDays(to, -60), to));
    const run = await env.t.db.syncRun.findFirstOrThrow({ where: { id: BigInt(r.runId) } });
    expect(run.counts).toMatchObject({ clippedTo: to });
  });

  it('defaults to yesterday and refuses bad ranges clearly', async () => {
    const r = await datacube();
    expect(r.params).toMatchObject({ from: yesterday(), to: yesterday() });
    const today = beijingDate(new Date());
    await expect(datacube(today, today)).rejects.toThrow(/up to yesterday/);
    await expect(datacube('2026-02-30', '2026-03-01')).rejects.toThrow(InputError);
    await expect(datacube('2026-02-30', '2026-03-01')).rejects.toThrow(/--from must be a real date/);
    await expect(datacube('2025-03-10', '2025-03-01')).rejects.toThrow(/--from \(2025-03-10\) is after --to/);
    await expect(datacube('yesterday')).rejects.toThrow(/expected YYYY-MM-DD/);
    // Refused runs leave no half-open audit rows behind.
    expect(await env.t.db.syncRun.count({ where: { status: 'running' } })).toBe(0);
  });

  it('resolveRange fills defaults', () => {
    const now = new Date('2026-03-10T12:00:00+08:00');
    expect(resolveRange({}, now)).toEqual({ from: '2026-03-09', to: '2026-03-09' });
    expect(resolveRange({}, now, 7)).toEqual({ from: '2026-03-03', to: '2026-03-09' });
    expect(resolveRange({ from: '2026-03-01' }, now)).toEqual({ from: '2026-03-01', to: '2026-03-09' });
    expect(resolveRange({ to: '2026-03-05' }, now)).toEqual({ from: '2026-03-05', to: '2026-03-05' });
    // Just after midnight Beijing time it is already the next day there.
    expect(resolveRange({}, new Date('2026-03-09T16:30:00Z'))).toEqual({
      from: '2026-03-09',
      to: '2026-03-09',
    });
  });

  it('resolveRange refuses ranges past the bounds or longer than a year, even with one end given', () => {
    const now = new Date('2026-03-10T12:00:00+08:00');
    // `--from` alone once reached up to yesterday however far back it started: 700,000 days.
    expect(() => resolveRange({ from: '0100-01-01' }, now)).toThrow(
      /--from must be between 2000-01-01 and 2099-12-31/,
    );
    expect(() => resolveRange({ from: '2020-01-01' }, now)).toThrow(/at most 366 days/);
    expect(() => resolveRange({ from: '9999-12-31', to: '9999-12-31' }, now)).toThrow(InputError);
    expect(() => resolveRange({ to: '2100-01-01' }, now)).toThrow(
      /must be between 2000-01-01 and 2099-12-31/,
    );
    expect(resolveRange({ from: '2025-03-10' }, now)).toEqual({ from: '2025-03-10', to: '2026-03-09' });
    expect(daysOf('2024-02-27', '2024-03-01')).toEqual([
      '2024-02-27',
      '2024-02-28',
      '2024-02-29',
      '2024-03-01',
    ]);
  });
});

describe('stale runs', () => {
  it('resumes a dead run with the same parameters from its checkpoint, closes others as abandoned', async () => {
    const to = yesterday();
    const from = addDays(to, -20); // 3 windows
    const params = { from, to, today: beijingDate(new Date()) };
    const other = await startRun(env.t.db, {
      job: 'datacube',
      params: { from: to, to, today: params.today },
      trigger: 'test',
    });
    const dead = await startRun(env.t.db, { job: 'datacube', params, trigger: 'schedule' });
    await saveCheckpoint(env.t.db, dead.id, { windowsDone: 2 }, { windowsDone: 2 });
    env.fake.calls.reset();

    const r = await datacube(from, to);
    expect(r).toMatchObject({ runId: dead.id, resumed: true, attempts: 2 });
    expect(env.fake.calls.count('getusersummary')).toBe(1); // only the window not yet written
    expect(await getRun(env.t.db, dead.id)).toMatchObject({ status: 'succeeded', trigger: 'schedule' });
    const abandoned = await getRun(env.t.db, other.id);
    expect(abandoned?.status).toBe('failed');
    expect(abandoned?.error).toMatch(/abandoned/);
    const metric = await lastSuccessfulRun.get();
    expect(metric.values.find((v) => v.labels.job === 'datacube')?.value).toBeGreaterThan(0);
  });
});

describe('publisher sync', () => {
  it('stores every page of CPS days and settlements, slots and report totals; idempotent', async () => {
    const to = yesterday();
    const from = addDays(to, -149);
    const r = await publisher(from, to);
    const stats = env.fake.state.stats;
    const cpsExpected = [...stats.cps.values()].filter((c) => c.date >= from && c.date <= to);
    const settExpected = stats.settlements.filter((s) => s.date >= from && s.date <= to);
    expect(cpsExpected.length).toBeGreaterThan(90); // more than one page
    expect(env.fake.calls.count('publisher_cps_general')).toBe(2);
    expect(r.counts).toMatchObject({ cpsDays: cpsExpected.length, settlements: settExpected.length });

    // Everything but when and by which run (lineage) a row was last written.
    const dump = async () => ({
      cps: (await env.t.db.publisherCpsDaily.findMany({ orderBy: { date: 'asc' } })).map(
        ({ syncedAt: _, lastRunId: __, ...c }) => c,
      ),
      sett: (
        await env.t.db.publisherSettlement.findMany({ orderBy: { settNo: 'asc' }, include: { slots: true } })
      ).map(({ syncedAt: _, lastRunId: __, slots, ...s }) => ({
        ...s,
        slots: slots.map(({ lastRunId: ___, ...slot }) => slot),
      })),
      reports: (await env.t.db.publisherSettlementReport.findMany()).map(
        ({ syncedAt: _, lastRunId: __, ...p }) => p,
      ),
    });
    const first = await dump();
    expect(first.cps.map((c) => [iso(c.date), Number(c.totalFee), c.clickRate])).toEqual(
      cpsExpected.map((c) => [c.date, c.total_fee, c.click_rate]),
    );
    expect(first.sett.length).toBe(settExpected.length);
    for (const s of settExpected) {
      const row = first.sett.find((x) => x.settNo === s.sett_no);
      expect(row).toMatchObject({ zone: s.zone, month: s.month, order: s.order, settStatus: s.sett_status });
      expect(Number(row?.settledRevenue)).toBe(s.settled_revenue);
      expect(row?.slots.map((x) => [x.slotId, Number(x.slotSettledRevenue)]).sort()).toEqual(
        s.slot_revenue.map((x) => [x.slot_id, x.slot_settled_revenue]).sort(),
      );
    }
    expect(first.reports).toHaveLength(1);
    expect(first.reports[0]).toMatchObject({ totalNum: settExpected.length });

    const again = await publisher(from, to);
    expect(await dump()).toEqual(first);
    // Lineage: every row now names the second run.
    const lastRuns = async (table: string) =>
      (
        await env.t.db.$queryRawUnsafe<{ last_run_id: bigint }[]>(`SELECT DISTINCT last_run_id FROM ${table}`)
      ).map((r) => Number(r.last_run_id));
    for (const table of [
      'publisher_cps_daily',
      'publisher_settlements',
      'publisher_settlement_slots',
      'publisher_settlement_reports',
    ]) {
      expect(await lastRuns(table), table).toEqual([again.runId]);
    }
  });

  it('replaces the slots of a settlement WeChat revised', async () => {
    const stats = env.fake.state.stats;
    const to = yesterday();
    const from = addDays(to, -149);
    const target = stats.settlements.find((s) => s.date >= from && s.date <= to && s.slot_revenue.length > 1);
    expect(target).toBeDefined();
    if (!target) return;
    const kept = target.slot_revenue[0];
    target.slot_revenue = kept ? [kept] : [];
    target.sett_status = 3;
    await publisher(from, to);
    const row = await env.t.db.publisherSettlement.findUniqueOrThrow({
      where: { settNo: target.sett_no },
      include: { slots: true },
    });
    expect(row.settStatus).toBe(3);
    expect(row.slots.map((s) => s.slotId)).toEqual([kept?.slot_id]);
  });
});
