/**
 * The data the growth dashboard draws (`GET /admin/api/dashboard`), read from the BI views so the
 * page and an analyst's SQL agree: daily net growth stacked by source, WeChat's cumulative count
 * against the followers stored here, the last runs of every job, and queue depths.
 */
import type { OpsDeps } from './deps.ts';
import { type DateRange, DateRange as DateRangeSchema, parseInput } from './inputs.ts';
import { type QueueDepth, queueDepths } from './queues.ts';

/** Days shown when the caller gives no range: the 30 days up to the latest day WeChat reported. */
export const DEFAULT_DAYS = 30;
/** Runs shown per job. */
export const RUNS_PER_JOB = 5;

export interface DashboardData {
  range: { from: string; to: string };
  /** One series per source present in the range; `net` is aligned with `days`. */
  growth: { days: string[]; sources: { user_source: number; label: string; net: number[] }[] };
  /** WeChat's end-of-day total and the stored followers who followed at the end of each day. */
  cumulate: { days: string[]; cumulate_user: (number | null)[]; stored_followers: (number | null)[] };
  followers_now: { subscribed: number; unsubscribed: number };
  runs: {
    id: string;
    job: string;
    status: string;
    trigger: string;
    started_at: Date;
    finished_at: Date | null;
    error: string | null;
  }[];
  queues: QueueDepth[];
}

const iso = (d: Date) => d.toISOString().slice(0, 10);
const addDays = (day: string, n: number) => iso(new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000));

function daysOf(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) out.push(d);
  return out;
}

/** Beijing calendar day (statistics days are Beijing days). */
const beijingToday = () => iso(new Date(Date.now() + 8 * 3600_000));

async function resolveRange(
  deps: Pick<OpsDeps, 'db'>,
  range: DateRange,
): Promise<{ from: string; to: string }> {
  if (range.from && range.to) return { from: range.from, to: range.to };
  let to = range.to;
  if (!to) {
    const [row] = await deps.db.$queryRaw<{ latest: string | null }[]>`
      SELECT greatest((SELECT max(ref_date) FROM user_summary), (SELECT max(ref_date) FROM user_cumulate))::text AS latest`;
    to = row?.latest ?? beijingToday();
  }
  const from = range.from ?? addDays(to, -(DEFAULT_DAYS - 1));
  // Strings in YYYY-MM-DD compare as dates.
  if (to < from) to = from;
  return { from, to };
}

export async function dashboardData(
  deps: Pick<OpsDeps, 'db' | 'queues'>,
  input: unknown,
): Promise<DashboardData> {
  const range = await resolveRange(deps, parseInput(DateRangeSchema, input));
  const days = daysOf(range.from, range.to);
  const [growthRows, cumulateRows, statusRows, runs, queues] = await Promise.all([
    deps.db.$queryRaw<{ day: string; user_source: number; label: string; net: number }[]>`
      SELECT ref_date::text AS day, user_source, source_label_en AS label, net_growth AS net
      FROM daily_growth_by_source
      WHERE ref_date BETWEEN ${range.from}::date AND ${range.to}::date
      ORDER BY user_source, ref_date`,
    deps.db.$queryRaw<{ day: string; cumulate_user: number; stored_followers: number }[]>`
      SELECT ref_date::text AS day, cumulate_user, stored_followers
      FROM follower_count_vs_cumulate
      WHERE ref_date BETWEEN ${range.from}::date AND ${range.to}::date`,
    deps.db.$queryRaw<{ status: string; followers: number }[]>`SELECT status, followers FROM follower_status`,
    deps.db.$queryRaw<(Omit<DashboardData['runs'][number], 'id'> & { id: bigint })[]>`
      SELECT id, job, status::text AS status, trigger, started_at, finished_at, error FROM (
        SELECT *, row_number() OVER (PARTITION BY job ORDER BY started_at DESC, id DESC) AS n FROM sync_runs
      ) r WHERE n <= ${RUNS_PER_JOB}
      ORDER BY job, started_at DESC, id DESC`,
    queueDepths(deps.queues),
  ]);

  const index = new Map(days.map((d, i) => [d, i]));
  const bySource = new Map<number, { user_source: number; label: string; net: number[] }>();
  for (const row of growthRows) {
    let series = bySource.get(row.user_source);
    if (!series) {
      series = { user_source: row.user_source, label: row.label, net: days.map(() => 0) };
      bySource.set(row.user_source, series);
    }
    series.net[index.get(row.day)!] = row.net;
  }
  const cumulate_user: (number | null)[] = days.map(() => null);
  const stored_followers: (number | null)[] = days.map(() => null);
  for (const row of cumulateRows) {
    const i = index.get(row.day)!;
    cumulate_user[i] = row.cumulate_user;
    stored_followers[i] = row.stored_followers;
  }
  const count = (status: string) => statusRows.find((r) => r.status === status)?.followers ?? 0;
  return {
    range,
    growth: { days, sources: [...bySource.values()] },
    cumulate: { days, cumulate_user, stored_followers },
    followers_now: { subscribed: count('subscribed'), unsubscribed: count('unsubscribed') },
    runs: runs.map((r) => ({ ...r, id: String(r.id) })),
    queues,
  };
}
