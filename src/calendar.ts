/**
 * The one calendar-day module: YYYY-MM-DD strings on the Beijing calendar (Asia/Shanghai, UTC+8
 * all year: China has no daylight saving time), the days WeChat's statistics are counted in.
 * Validation, day arithmetic, "today" and "yesterday" in Beijing, and date-range defaults.
 */
import { InputError } from './errors.ts';

const DAY_MS = 86_400_000;
/** UTC+8 all year. */
const BEIJING_OFFSET_MS = 8 * 3_600_000;
const ISO = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Day number (days since 1970-01-01) of a YYYY-MM-DD naming a real day, else undefined. */
export function dayOrUndefined(date: string): number | undefined {
  const m = ISO.exec(date);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN;
  if (!m || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== date) return undefined;
  return ms / DAY_MS;
}

/** Whether `date` is YYYY-MM-DD naming a real day ("2026-02-30" is not). */
export const isCalendarDate = (date: string): boolean => dayOrUndefined(date) !== undefined;

/**
 * The days any range may name. WeChat's statistics start in 2014 (official accounts in 2012); the
 * bounds keep every walk over a range (day lists, 7-day WeChat windows) small and inside the
 * years a Date prints as YYYY: `from=0100-01-01` once walked 700,000 days, `9999-12-31` past 9999.
 */
export const EARLIEST_DAY = '2000-01-01';
export const LATEST_DAY = '2099-12-31';
/** Longest range (days, inclusive) a sync run or the dashboard covers. */
export const DATE_RANGE_MAX_DAYS = 366;

/** Whether `date` is a real day within EARLIEST_DAY..LATEST_DAY. */
export const isSaneDay = (date: string): boolean =>
  isCalendarDate(date) && date >= EARLIEST_DAY && date <= LATEST_DAY;

/**
 * Validates a resolved, inclusive range: real days within the bounds, `from` <= `to`, at most
 * DATE_RANGE_MAX_DAYS days. InputError names the range's fields (`what`).
 */
export function checkRange(
  range: { from: string; to: string },
  what: { from: string; to: string } = { from: 'from', to: 'to' },
): { from: string; to: string } {
  for (const key of ['from', 'to'] as const) {
    dayNumber(range[key], what[key]);
    if (!isSaneDay(range[key])) {
      throw new InputError(`${what[key]} must be between ${EARLIEST_DAY} and ${LATEST_DAY}`);
    }
  }
  if (range.from > range.to)
    throw new InputError(`${what.from} (${range.from}) is after ${what.to} (${range.to})`);
  if (daysBetween(range.from, range.to) >= DATE_RANGE_MAX_DAYS) {
    throw new InputError(`${what.from}..${what.to}: at most ${DATE_RANGE_MAX_DAYS} days`);
  }
  return range;
}

/** Every day of an inclusive range, in order (callers check the range first: checkRange). */
export function daysOf(from: string, to: string): string[] {
  const first = dayNumber(from, 'from');
  const last = dayNumber(to, 'to');
  return Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => dateOfDay(first + i));
}

/** Day number (days since 1970-01-01) of a real YYYY-MM-DD, else InputError naming `what`. */
export function dayNumber(date: string, what: string): number {
  const day = dayOrUndefined(date);
  if (day === undefined) {
    throw new InputError(`${what} must be a real date in YYYY-MM-DD form (got "${date.slice(0, 20)}")`);
  }
  return day;
}

/** The YYYY-MM-DD of a day number. */
export const dateOfDay = (day: number): string => new Date(day * DAY_MS).toISOString().slice(0, 10);

/** Validates a YYYY-MM-DD that names a real day ("2026-02-30" is refused), else InputError naming `what`. */
export function checkDay(date: string, what: string): string {
  dayNumber(date, what);
  return date;
}

export function addDays(date: string, days: number): string {
  return dateOfDay(dayNumber(date, 'date') + days);
}

/** Whole days from `from` to `to` (0 for the same day, negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  return dayNumber(to, 'to') - dayNumber(from, 'from');
}

/** Today's date on the Beijing calendar, as YYYY-MM-DD. */
export function beijingDate(at: Date = new Date()): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: 'Asia/Shanghai',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/** Day number (days since 1970-01-01) on the Beijing calendar of an epoch-ms instant. */
export function beijingDayNumber(epochMs: number): number {
  return Math.floor((epochMs + BEIJING_OFFSET_MS) / DAY_MS);
}

/** YYYY-MM on the Beijing calendar (monthly allowances such as clear_quota's). */
export function beijingMonth(epochMs: number): string {
  return new Date(epochMs + BEIJING_OFFSET_MS).toISOString().slice(0, 7);
}

/** The next 00:00 Beijing time strictly after `at`: when WeChat's daily API quotas reset. */
export function nextQuotaReset(at: Date = new Date()): Date {
  return new Date((beijingDayNumber(at.getTime()) + 1) * DAY_MS - BEIJING_OFFSET_MS);
}

/** Yesterday on the Beijing calendar: the last day WeChat's T-1 statistics cover. */
export function beijingYesterday(now: Date): string {
  return addDays(beijingDate(now), -1);
}

/**
 * Fills a range's defaults: nothing given = yesterday; only `from` = from..yesterday (or from..from
 * when from is later); only `to` = to..to. Refuses invalid dates, from > to, days outside
 * EARLIEST_DAY..LATEST_DAY and ranges longer than DATE_RANGE_MAX_DAYS (see checkRange).
 */
export function resolveRange(
  range: { from?: string; to?: string },
  now: Date,
  defaultDays = 1,
): { from: string; to: string } {
  const yesterday = beijingYesterday(now);
  const from = range.from === undefined ? undefined : checkDay(range.from, '--from');
  const to = range.to === undefined ? undefined : checkDay(range.to, '--to');
  const resolvedTo = to ?? (from !== undefined && from > yesterday ? from : yesterday);
  const resolvedFrom = from ?? (to !== undefined ? to : addDays(resolvedTo, 1 - defaultDays));
  // Checked once resolved: `--from` alone reaches up to yesterday, however far back it starts.
  return checkRange({ from: resolvedFrom, to: resolvedTo }, { from: '--from', to: '--to' });
}
