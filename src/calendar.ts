/** Calendar-day arithmetic for job date ranges (YYYY-MM-DD, Beijing calendar). */
import { InputError } from './errors.ts';
import { beijingDate } from './wechat/datacube.ts';

const DAY_MS = 86_400_000;
const ISO = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Validates a YYYY-MM-DD that names a real day ("2026-02-30" is refused), else InputError naming `what`. */
export function checkDay(date: string, what: string): string {
  const m = ISO.exec(date);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN;
  if (!m || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== date) {
    throw new InputError(`${what} must be a real date in YYYY-MM-DD form (got "${date.slice(0, 20)}")`);
  }
  return date;
}

export function addDays(date: string, days: number): string {
  const ms = Date.parse(`${checkDay(date, 'date')}T00:00:00Z`) + days * DAY_MS;
  return new Date(ms).toISOString().slice(0, 10);
}

/** Yesterday on the Beijing calendar: the last day WeChat's T-1 statistics cover. */
export function beijingYesterday(now: Date): string {
  return addDays(beijingDate(now), -1);
}

/**
 * Fills a range's defaults: nothing given = yesterday; only `from` = from..yesterday (or from..from
 * when from is later); only `to` = to..to. Refuses invalid dates and from > to.
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
  if (resolvedFrom > resolvedTo) {
    throw new InputError(`--from (${resolvedFrom}) is after --to (${resolvedTo})`);
  }
  return { from: resolvedFrom, to: resolvedTo };
}
