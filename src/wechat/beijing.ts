/** Beijing-calendar instants WeChat's quotas turn on (UTC+8 all year: China has no DST). */

const DAY_MS = 86_400_000;
/** Beijing has no daylight saving time: always UTC+8. */
const BEIJING_OFFSET_MS = 8 * 3_600_000;

/** Days since 1970-01-01 on the Beijing calendar, for an epoch-ms instant. */
export function beijingDayNumber(epochMs: number): number {
  return Math.floor((epochMs + BEIJING_OFFSET_MS) / DAY_MS);
}

/** YYYY-MM of the Beijing calendar (monthly allowances such as clear_quota's). */
export function beijingMonth(epochMs: number): string {
  return new Date(epochMs + BEIJING_OFFSET_MS).toISOString().slice(0, 7);
}

/** The next 00:00 Beijing time strictly after `at`: when WeChat's daily counters reset. */
export function nextQuotaReset(at: Date = new Date()): Date {
  return new Date((beijingDayNumber(at.getTime()) + 1) * DAY_MS - BEIJING_OFFSET_MS);
}
