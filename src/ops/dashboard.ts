/**
 * The operator dashboard's panels, one loader per panel, each answering one JSON route
 * (`GET /admin/api/<panel>`) and its CSV twin. Every panel has `rows`: its figures as one flat table
 * (what the CSV holds, cell for cell), plus whatever structure the page draws from. Panels are
 * language-neutral: names that come from data carry both languages (`*_zh`, `*_en`) and the page
 * picks one. Every time is ISO 8601 in CRON_TIMEZONE with its offset (2026-03-06T18:00:00+08:00).
 *
 * Statistics days are WeChat's (Beijing calendar); "today" and hours are in CRON_TIMEZONE.
 */
import { z } from 'zod';
import { addDays, beijingYesterday, checkRange, daysBetween, daysOf } from '../calendar.ts';
import { latestEventReceivedAt } from '../db/follower-events.ts';
import { followerStatusCounts } from '../db/followers.ts';
import { cumulateVsStored, growthBySource, latestStatsDay, summaryTotals } from '../db/stats.ts';
import { lastRunsPerJob, lastSucceededAt } from '../db/sync-runs.ts';
import {
  eventsVsDatacube,
  followEventsByHour,
  recentCohorts,
  tagDistribution,
  topQrScenes,
} from '../db/warehouse-views.ts';
import { InputError } from '../errors.ts';
import { safeErrorText } from '../safe-error.ts';
import { rowsWritten } from '../sync/registry.ts';
import { zonedDay, zonedIso, zonedStartOfDay } from '../time-zone.ts';
import { ERRCODE_REASONS, ERRCODE_REASONS_ZH } from '../wechat/errors.ts';
import { cachedQuotaReport } from '../wechat/quota.ts';
import { withTimeout } from './checks.ts';
import type { OpsDeps } from './deps.ts';
import { DATE_RANGE_MAX_DAYS, DateRange, parseInput } from './inputs.ts';
import { queueDepths } from './queues.ts';

/** Days shown when the caller gives no range: the 30 days up to the latest day WeChat reported. */
export const DEFAULT_DAYS = 30;
/** The picker's presets. */
export const RANGE_PRESETS = [7, 30, 90] as const;
/** Runs shown per job. */
export const RUNS_PER_JOB = 5;

export type PanelName =
  | 'headline'
  | 'growth'
  | 'cumulative'
  | 'hourly'
  | 'channels'
  | 'cohorts'
  | 'tags'
  | 'pipes';

export type Cell = string | number | boolean | null;
export type Row = Record<string, Cell>;

export interface PanelBase {
  panel: PanelName;
  timezone: string;
  generated_at: string;
  /** Nothing to show yet: the page shows how to fill the panel instead. */
  empty: boolean;
  rows: Row[];
}

/** wechat and redis are optional: without them (or when WeChat will not answer) the quota is unavailable. */
type Deps = Pick<OpsDeps, 'db' | 'queues' | 'config'> & Partial<Pick<OpsDeps, 'wechat' | 'redis'>>;

interface Context {
  deps: Deps;
  query: Record<string, string | undefined>;
  now: Date;
  tz: string;
  iso: (at: Date | null | undefined) => string | null;
}

const RangeDays = z.object({
  days: z.coerce
    .number()
    .int('a whole number of days')
    .min(1, 'at least 1')
    .max(DATE_RANGE_MAX_DAYS, `at most ${DATE_RANGE_MAX_DAYS}`)
    .optional(),
});

export interface ResolvedRange {
  from: string;
  to: string;
  days: number;
}

/**
 * The range of the time-series panels: `from`/`to` as given, else `days` (a preset, default 30)
 * ending at `to` or at the latest day WeChat reported (yesterday before the first sync). A range
 * is never longer than DATE_RANGE_MAX_DAYS, whichever way it was given.
 */
export async function resolveRange(ctx: Pick<Context, 'deps' | 'query' | 'now'>): Promise<ResolvedRange> {
  const given = parseInput(DateRange, { from: ctx.query.from, to: ctx.query.to });
  const { days } = parseInput(RangeDays, { days: ctx.query.days || undefined });
  let to = given.to;
  if (!to) {
    const latest = given.from && days === undefined ? null : await latestStatsDay(ctx.deps.db);
    to = latest ?? beijingYesterday(ctx.now);
    if (given.from && given.from > to) to = given.from;
  }
  const from = given.from ?? addDays(to, 1 - (days ?? DEFAULT_DAYS));
  if (from > to) throw new InputError('from: must not be after to');
  // The shared rule (real days in 2000..2099, at most DATE_RANGE_MAX_DAYS), once resolved.
  checkRange({ from, to });
  return { from, to, days: daysBetween(from, to) + 1 };
}

function base<P extends PanelName>(ctx: Context, panel: P) {
  return { panel, timezone: ctx.tz, generated_at: ctx.iso(ctx.now)! };
}

const latestOf = (...dates: (Date | null | undefined)[]) => {
  const times = dates.filter((d): d is Date => d instanceof Date).map((d) => d.getTime());
  return times.length ? new Date(Math.max(...times)) : null;
};

// --- headline numbers ---------------------------------------------------------------------------

export interface HeadlinePanel extends PanelBase {
  panel: 'headline';
  followers_now: { value: number; left: number; as_of: string | null };
  today: { day: string; new: number; left: number; net: number; as_of: string | null };
  yesterday: {
    day: string;
    available: boolean;
    new: number | null;
    cancelled: number | null;
    net: number | null;
    cumulate: number | null;
    as_of: string | null;
  };
  last7: {
    from: string;
    to: string;
    days_reported: number;
    new: number;
    cancelled: number;
    net: number;
    as_of: string | null;
  };
}

async function headline(ctx: Context): Promise<HeadlinePanel> {
  const { db } = ctx.deps;
  const today = zonedDay(ctx.now, ctx.tz);
  // Statistics days are Beijing days whatever CRON_TIMEZONE says: they are WeChat's.
  const yesterday = beijingYesterday(ctx.now);
  const [status, hours, lastEvent, lastSync, latest, y] = await Promise.all([
    followerStatusCounts(db),
    followEventsByHour(db, zonedStartOfDay(today, ctx.tz), zonedStartOfDay(addDays(today, 1), ctx.tz)),
    latestEventReceivedAt(db),
    lastSucceededAt(db, 'followers'),
    latestStatsDay(db),
    summaryTotals(db, yesterday, yesterday),
  ]);
  const weekTo = latest ?? yesterday;
  const weekFrom = addDays(weekTo, -6);
  const week = await summaryTotals(db, weekFrom, weekTo);

  const events = {
    subscribes: hours.reduce((n, h) => n + h.subscribes, 0),
    unsubscribes: hours.reduce((n, h) => n + h.unsubscribes, 0),
  };
  const followersAsOf = ctx.iso(latestOf(lastSync, lastEvent));
  const eventsAsOf = ctx.iso(lastEvent);
  const yAvailable = y.days > 0 || y.cumulate_user !== null;
  const panel: Omit<HeadlinePanel, 'rows' | 'empty'> = {
    ...base(ctx, 'headline'),
    followers_now: { value: status.subscribed, left: status.unsubscribed, as_of: followersAsOf },
    today: {
      day: today,
      new: events.subscribes,
      left: events.unsubscribes,
      net: events.subscribes - events.unsubscribes,
      as_of: eventsAsOf,
    },
    yesterday: {
      day: yesterday,
      available: yAvailable,
      new: y.days > 0 ? y.new_user : null,
      cancelled: y.days > 0 ? y.cancel_user : null,
      net: y.days > 0 ? y.new_user - y.cancel_user : null,
      cumulate: y.cumulate_user,
      as_of: ctx.iso(y.synced_at),
    },
    last7: {
      from: weekFrom,
      to: weekTo,
      days_reported: week.days,
      new: week.new_user,
      cancelled: week.cancel_user,
      net: week.new_user - week.cancel_user,
      as_of: ctx.iso(week.synced_at),
    },
  };
  const row = (
    metric: string,
    period: string,
    value: number | null,
    source: string,
    asOf: string | null,
  ) => ({
    metric,
    period,
    value,
    source,
    as_of: asOf,
  });
  const p = panel;
  const rows: Row[] = [
    row('followers_now', today, p.followers_now.value, 'followers', followersAsOf),
    row('today_new', today, p.today.new, 'follower_events', eventsAsOf),
    row('today_left', today, p.today.left, 'follower_events', eventsAsOf),
    row('today_net', today, p.today.net, 'follower_events', eventsAsOf),
    row('yesterday_new', yesterday, p.yesterday.new, 'user_summary', p.yesterday.as_of),
    row('yesterday_cancelled', yesterday, p.yesterday.cancelled, 'user_summary', p.yesterday.as_of),
    row('yesterday_net', yesterday, p.yesterday.net, 'user_summary', p.yesterday.as_of),
    row('yesterday_cumulate', yesterday, p.yesterday.cumulate, 'user_cumulate', p.yesterday.as_of),
    row('last7_new', `${weekFrom}..${weekTo}`, p.last7.new, 'user_summary', p.last7.as_of),
    row('last7_cancelled', `${weekFrom}..${weekTo}`, p.last7.cancelled, 'user_summary', p.last7.as_of),
    row('last7_net', `${weekFrom}..${weekTo}`, p.last7.net, 'user_summary', p.last7.as_of),
  ];
  const empty = status.subscribed + status.unsubscribed === 0 && lastEvent === null && latest === null;
  return { ...panel, empty, rows };
}

// --- daily growth -------------------------------------------------------------------------------

export interface GrowthPanel extends PanelBase {
  panel: 'growth';
  range: ResolvedRange;
  days: string[];
  /** One series per source present in the range, aligned with `days`. */
  sources: { user_source: number; label_zh: string; label_en: string; new: number[]; cancelled: number[] }[];
  net: number[];
  /**
   * Per day: datacube's totals beside the subscribe/unsubscribe pushes /wx recorded
   * (daily_events_vs_datacube), so the gap between what /wx saw and what WeChat reports shows.
   */
  daily: Row[];
}

async function growth(ctx: Context): Promise<GrowthPanel> {
  const range = await resolveRange(ctx);
  const days = daysOf(range.from, range.to);
  const index = new Map(days.map((d, i) => [d, i]));
  const [found, seen] = await Promise.all([
    growthBySource(ctx.deps.db, range.from, range.to),
    eventsVsDatacube(ctx.deps.db, range.from, range.to),
  ]);
  const bySource = new Map<number, GrowthPanel['sources'][number]>();
  const net = days.map(() => 0);
  for (const r of found) {
    let s = bySource.get(r.user_source);
    if (!s) {
      s = {
        user_source: r.user_source,
        label_zh: r.label_zh,
        label_en: r.label_en,
        new: days.map(() => 0),
        cancelled: days.map(() => 0),
      };
      bySource.set(r.user_source, s);
    }
    const i = index.get(r.day)!;
    s.new[i] = r.new_user;
    s.cancelled[i] = r.cancel_user;
    net[i]! += r.new_user - r.cancel_user;
  }
  const rows: Row[] = found.map((r) => ({
    day: r.day,
    user_source: r.user_source,
    source_zh: r.label_zh,
    source_en: r.label_en,
    new_user: r.new_user,
    cancel_user: r.cancel_user,
    net_growth: r.new_user - r.cancel_user,
  }));
  const sources = [...bySource.values()].sort((a, b) => a.user_source - b.user_source);
  const daily: Row[] = seen.map((r) => ({
    day: r.day,
    new_user: r.new_user,
    cancel_user: r.cancel_user,
    net_growth: r.new_user === null || r.cancel_user === null ? null : r.new_user - r.cancel_user,
    subscribe_events: r.subscribe_events,
    unsubscribe_events: r.unsubscribe_events,
  }));
  return { ...base(ctx, 'growth'), range, days, sources, net, daily, empty: rows.length === 0, rows };
}

// --- cumulative ---------------------------------------------------------------------------------

export interface CumulativePanel extends PanelBase {
  panel: 'cumulative';
  range: ResolvedRange;
  days: string[];
  cumulate_user: (number | null)[];
  stored_followers: (number | null)[];
  /** WeChat's count minus the followers stored, per day. */
  gap: (number | null)[];
}

async function cumulative(ctx: Context): Promise<CumulativePanel> {
  const range = await resolveRange(ctx);
  const days = daysOf(range.from, range.to);
  const index = new Map(days.map((d, i) => [d, i]));
  const found = await cumulateVsStored(ctx.deps.db, range.from, range.to);
  const cumulate_user: (number | null)[] = days.map(() => null);
  const stored_followers: (number | null)[] = days.map(() => null);
  const gap: (number | null)[] = days.map(() => null);
  const rows: Row[] = [];
  for (const r of found) {
    const i = index.get(r.day)!;
    cumulate_user[i] = r.cumulate_user;
    stored_followers[i] = r.stored_followers;
    gap[i] = r.cumulate_user - r.stored_followers;
    rows.push({
      day: r.day,
      cumulate_user: r.cumulate_user,
      stored_followers: r.stored_followers,
      gap: r.cumulate_user - r.stored_followers,
    });
  }
  return {
    ...base(ctx, 'cumulative'),
    range,
    days,
    cumulate_user,
    stored_followers,
    gap,
    empty: rows.length === 0,
    rows,
  };
}

// --- today by hour ------------------------------------------------------------------------------

/** How often the page reloads the hourly panel. */
export const HOURLY_REFRESH_S = 30;
const HOUR_MS = 3_600_000;

export interface HourlyPanel extends PanelBase {
  panel: 'hourly';
  day: string;
  /** Start of every hour of the day (24; 23 or 25 on a daylight-saving day). */
  hours: string[];
  /** Aligned with `hours`; null for hours still to come. */
  subscribes: (number | null)[];
  unsubscribes: (number | null)[];
  totals: { subscribes: number; unsubscribes: number; net: number };
  as_of: string | null;
  refresh_s: number;
}

async function hourly(ctx: Context): Promise<HourlyPanel> {
  const day = zonedDay(ctx.now, ctx.tz);
  const start = zonedStartOfDay(day, ctx.tz);
  const end = zonedStartOfDay(addDays(day, 1), ctx.tz);
  const [found, lastEvent] = await Promise.all([
    followEventsByHour(ctx.deps.db, start, end),
    latestEventReceivedAt(ctx.deps.db),
  ]);
  const byHour = new Map(found.map((r) => [r.hour.getTime(), r]));
  const hours: string[] = [];
  const subscribes: (number | null)[] = [];
  const unsubscribes: (number | null)[] = [];
  const rows: Row[] = [];
  for (let at = start.getTime(); at < end.getTime(); at += HOUR_MS) {
    const iso = ctx.iso(new Date(at))!;
    hours.push(iso);
    if (at > ctx.now.getTime()) {
      subscribes.push(null);
      unsubscribes.push(null);
      continue;
    }
    const r = byHour.get(at);
    const sub = r?.subscribes ?? 0;
    const unsub = r?.unsubscribes ?? 0;
    subscribes.push(sub);
    unsubscribes.push(unsub);
    rows.push({
      hour: iso,
      subscribes: sub,
      qr_subscribes: r?.qr_subscribes ?? 0,
      unsubscribes: unsub,
      net: sub - unsub,
    });
  }
  const total = (xs: (number | null)[]) => xs.reduce<number>((n, x) => n + (x ?? 0), 0);
  const totals = { subscribes: total(subscribes), unsubscribes: total(unsubscribes), net: 0 };
  totals.net = totals.subscribes - totals.unsubscribes;
  return {
    ...base(ctx, 'hourly'),
    day,
    hours,
    subscribes,
    unsubscribes,
    totals,
    as_of: ctx.iso(lastEvent),
    refresh_s: HOURLY_REFRESH_S,
    empty: found.length === 0,
    rows,
  };
}

// --- channels (parametric QR scenes) ------------------------------------------------------------

export const SCENES_DEFAULT = 10;
export const SCENES_MAX = 200;
const SceneLimit = z.object({
  limit: z.coerce.number().int().min(1).max(SCENES_MAX).default(SCENES_DEFAULT),
});
/** Four decimals, as the views round shares. */
const share = (part: number, whole: number) =>
  whole > 0 ? Math.round((part / whole) * 10_000) / 10_000 : null;

export interface ChannelsPanel extends PanelBase {
  panel: 'channels';
  limit: number;
}

async function channels(ctx: Context): Promise<ChannelsPanel> {
  const { limit } = parseInput(SceneLimit, { limit: ctx.query.limit || undefined });
  const found = await topQrScenes(ctx.deps.db, limit);
  const rows: Row[] = found.map((r) => ({
    scene: r.scene,
    followers_gained: r.followers_gained,
    still_following: r.still_following,
    retention_now: share(r.still_following, r.followers_gained),
    left_within_7_days: r.left_within_7_days,
    retention_7d: share(r.followers_gained - r.left_within_7_days, r.followers_gained),
    left_within_30_days: r.left_within_30_days,
    scan_events: r.scan_events,
    first_joined_at: ctx.iso(r.first_joined_at),
    last_joined_at: ctx.iso(r.last_joined_at),
  }));
  return { ...base(ctx, 'channels'), limit, empty: rows.length === 0, rows };
}

// --- cohort retention ---------------------------------------------------------------------------

export const COHORT_MONTHS_DEFAULT = 12;
export const COHORT_MONTHS_MAX = 120;
const CohortMonths = z.object({
  months: z.coerce.number().int().min(1).max(COHORT_MONTHS_MAX).default(COHORT_MONTHS_DEFAULT),
});

export interface CohortsPanel extends PanelBase {
  panel: 'cohorts';
  months: number;
  /** Days after joining of the view's retention columns (the heat map's "months since": 1, 3, 6). */
  marks: number[];
}

async function cohorts(ctx: Context): Promise<CohortsPanel> {
  const { months } = parseInput(CohortMonths, { months: ctx.query.months || undefined });
  const found = await recentCohorts(ctx.deps.db, months);
  const rows: Row[] = found.map((r) => ({
    cohort_month: r.cohort_month.slice(0, 7),
    joined: r.joined,
    retention_30d: r.retention_30d,
    covered_30d: r.covered_30d,
    retention_90d: r.retention_90d,
    covered_90d: r.covered_90d,
    retention_180d: r.retention_180d,
    covered_180d: r.covered_180d,
    still_following: r.still_following,
    retention: r.retention,
  }));
  return { ...base(ctx, 'cohorts'), months, marks: [30, 90, 180], empty: rows.length === 0, rows };
}

// --- tags ---------------------------------------------------------------------------------------

export interface TagsPanel extends PanelBase {
  panel: 'tags';
}

async function tags(ctx: Context): Promise<TagsPanel> {
  const found = await tagDistribution(ctx.deps.db);
  const rows: Row[] = found.map((r) => ({ ...r }));
  return { ...base(ctx, 'tags'), empty: rows.length === 0, rows };
}

// --- pipes --------------------------------------------------------------------------------------

/** The errcode a stored error names ("... errcode 40164 ..."), if any. */
export function errcodeIn(error: string | null): number | null {
  const match = error ? /errcode[ :=]*(-?\d+)/i.exec(error) : null;
  return match ? Number(match[1]) : null;
}

export interface QuotaRow extends Row {
  path: string;
  daily_limit: number | null;
  used: number | null;
  remain: number | null;
  /** Why WeChat did not report this path (null when it did). */
  error: string | null;
}

/** The quota rows are shared through Redis this long (quota/get is itself a WeChat call, and quota-bound). */
const QUOTA_MAX_AGE_MS = 60_000;
/** The panel waits this long for quota/get, then says the quota is unavailable. */
const QUOTA_TIMEOUT_MS = 3_000;

async function quota(ctx: Context): Promise<PipesPanel['quota']> {
  const { wechat, redis, config } = ctx.deps;
  if (!wechat || !redis) return { available: false, reason: null, at: null, rows: [] };
  try {
    const report = await withTimeout(
      cachedQuotaReport(wechat, redis, { keyPrefix: config.QUEUE_PREFIX, maxAgeMs: QUOTA_MAX_AGE_MS }),
      QUOTA_TIMEOUT_MS,
    );
    const rows: QuotaRow[] = report.rows.map((r) =>
      'error' in r
        ? { path: r.path, daily_limit: null, used: null, remain: null, error: r.error }
        : { path: r.path, daily_limit: r.dailyLimit, used: r.used, remain: r.remain, error: null },
    );
    const available = rows.some((r) => r.error === null);
    return {
      available,
      reason: available ? null : (rows.find((r) => r.error)?.error ?? null),
      at: ctx.iso(report.at),
      rows,
    };
  } catch (error) {
    return { available: false, reason: safeErrorText(error), at: null, rows: [] };
  }
}

export interface PipesPanel extends PanelBase {
  panel: 'pipes';
  queues: Row[];
  /** Remaining WeChat API quota per path, when it could be read. */
  quota: { available: boolean; reason: string | null; at: string | null; rows: QuotaRow[] };
  /** Queue depths could not be read (Redis down): the reason, else null. */
  queues_error: string | null;
}

async function pipes(ctx: Context): Promise<PipesPanel> {
  const [runs, quotaNow, queues] = await Promise.all([
    lastRunsPerJob(ctx.deps.db, RUNS_PER_JOB),
    quota(ctx),
    queueDepths(ctx.deps.queues).then(
      (q) => ({ ok: true as const, q }),
      (error: unknown) => ({ ok: false as const, error: safeErrorText(error) }),
    ),
  ]);
  const rows: Row[] = runs.map((r) => {
    const errcode = errcodeIn(r.error);
    const end = r.finishedAt ?? ctx.now;
    return {
      job: r.job,
      run_id: r.id,
      status: r.status,
      trigger: r.trigger,
      started_at: ctx.iso(r.startedAt),
      finished_at: ctx.iso(r.finishedAt),
      duration_s: Math.max(0, Math.round((end.getTime() - r.startedAt.getTime()) / 100) / 10),
      rows: rowsWritten(r.job, r.counts),
      attempts: r.attempts,
      /** retrying: BullMQ's next attempt; paused: the resume after the quota reset. */
      next_attempt_at: ctx.iso(r.nextAttemptAt),
      error: r.error,
      errcode,
      explanation_zh: errcode === null ? null : (ERRCODE_REASONS_ZH[errcode] ?? null),
      explanation_en: errcode === null ? null : (ERRCODE_REASONS[errcode] ?? null),
    };
  });
  return {
    ...base(ctx, 'pipes'),
    empty: rows.length === 0,
    rows,
    queues: queues.ok ? queues.q : [],
    queues_error: queues.ok ? null : queues.error,
    quota: quotaNow,
  };
}

// --- registry -----------------------------------------------------------------------------------

export interface PanelDefinition<P extends PanelBase = PanelBase> {
  name: P['panel'];
  /** Whether the date-range picker drives it (from/to/days). */
  ranged: boolean;
  /** CSV tables: the first is the default; columns in order. */
  tables: Record<string, { columns: readonly string[]; rows: (panel: P) => Row[] }>;
  load(ctx: Context): Promise<P>;
}

const main = <P extends PanelBase>(columns: readonly string[]) => ({
  main: { columns, rows: (p: P) => p.rows },
});

const definitions = {
  headline: {
    name: 'headline',
    ranged: false,
    tables: main<HeadlinePanel>(['metric', 'period', 'value', 'source', 'as_of']),
    load: headline,
  } satisfies PanelDefinition<HeadlinePanel>,
  growth: {
    name: 'growth',
    ranged: true,
    tables: {
      ...main<GrowthPanel>([
        'day',
        'user_source',
        'source_zh',
        'source_en',
        'new_user',
        'cancel_user',
        'net_growth',
      ]),
      daily: {
        columns: ['day', 'new_user', 'cancel_user', 'net_growth', 'subscribe_events', 'unsubscribe_events'],
        rows: (p: GrowthPanel) => p.daily,
      },
    },
    load: growth,
  } satisfies PanelDefinition<GrowthPanel>,
  cumulative: {
    name: 'cumulative',
    ranged: true,
    tables: main<CumulativePanel>(['day', 'cumulate_user', 'stored_followers', 'gap']),
    load: cumulative,
  } satisfies PanelDefinition<CumulativePanel>,
  hourly: {
    name: 'hourly',
    ranged: false,
    tables: main<HourlyPanel>(['hour', 'subscribes', 'qr_subscribes', 'unsubscribes', 'net']),
    load: hourly,
  } satisfies PanelDefinition<HourlyPanel>,
  channels: {
    name: 'channels',
    ranged: false,
    tables: main<ChannelsPanel>([
      'scene',
      'followers_gained',
      'still_following',
      'retention_now',
      'left_within_7_days',
      'retention_7d',
      'left_within_30_days',
      'scan_events',
      'first_joined_at',
      'last_joined_at',
    ]),
    load: channels,
  } satisfies PanelDefinition<ChannelsPanel>,
  cohorts: {
    name: 'cohorts',
    ranged: false,
    tables: main<CohortsPanel>([
      'cohort_month',
      'joined',
      'retention_30d',
      'covered_30d',
      'retention_90d',
      'covered_90d',
      'retention_180d',
      'covered_180d',
      'still_following',
      'retention',
    ]),
    load: cohorts,
  } satisfies PanelDefinition<CohortsPanel>,
  tags: {
    name: 'tags',
    ranged: false,
    tables: main<TagsPanel>(['tag_id', 'tag_name', 'followers', 'wechat_count']),
    load: tags,
  } satisfies PanelDefinition<TagsPanel>,
  pipes: {
    name: 'pipes',
    ranged: false,
    tables: {
      runs: {
        columns: [
          'job',
          'run_id',
          'status',
          'trigger',
          'started_at',
          'finished_at',
          'duration_s',
          'rows',
          'attempts',
          'error',
          'errcode',
          'explanation_zh',
          'explanation_en',
        ],
        rows: (p: PipesPanel) => p.rows,
      },
      queues: {
        columns: ['queue', 'waiting', 'active', 'delayed', 'failed'],
        rows: (p: PipesPanel) => p.queues,
      },
      quota: {
        columns: ['path', 'daily_limit', 'used', 'remain', 'error'],
        rows: (p: PipesPanel) => p.quota.rows,
      },
    },
    load: pipes,
  } satisfies PanelDefinition<PipesPanel>,
};

export const PANEL_NAMES = Object.keys(definitions) as PanelName[];

export function panelDefinition(name: string): PanelDefinition | undefined {
  return Object.hasOwn(definitions, name)
    ? (definitions[name as PanelName] as unknown as PanelDefinition)
    : undefined;
}

/** Loads one panel for `query` (the request's query string). */
export function loadPanel(
  deps: Deps,
  definition: PanelDefinition,
  query: Record<string, string | undefined>,
  now = new Date(),
): Promise<PanelBase> {
  const tz = deps.config.CRON_TIMEZONE;
  return definition.load({ deps, query, now, tz, iso: (at) => (at ? zonedIso(at, tz) : null) });
}
