/**
 * Wall-clock time in a named IANA zone (CRON_TIMEZONE, Asia/Shanghai by default): what operators
 * read on the dashboard and in its CSV files. Built on Intl (the zone database Node ships), so any
 * zone works, daylight saving included; the formatter of each zone is made once.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let found = formatters.get(timeZone);
  if (!found) {
    found = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, found);
  }
  return found;
}

/** Whether `timeZone` names a zone Intl knows ("Asia/Shanghai", "UTC"). */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

interface WallClock {
  day: string;
  time: string;
  /** Minutes east of UTC at that instant. */
  offsetMinutes: number;
}

function wallClock(at: Date, timeZone: string): WallClock {
  const parts = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  const day = `${parts.year}-${parts.month}-${parts.day}`;
  const time = `${parts.hour}:${parts.minute}:${parts.second}`;
  const asUtc = Date.parse(`${day}T${time}Z`);
  const offsetMinutes = Math.round((asUtc - Math.floor(at.getTime() / 1000) * 1000) / 60_000);
  return { day, time, offsetMinutes };
}

const offsetText = (minutes: number) => {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
};

/** The calendar day of `at` in `timeZone`, YYYY-MM-DD. */
export function zonedDay(at: Date, timeZone: string): string {
  return wallClock(at, timeZone).day;
}

/** `at` as ISO 8601 in `timeZone` with its offset: 2026-03-06T18:00:00+08:00 (unambiguous, local). */
export function zonedIso(at: Date, timeZone: string): string {
  const w = wallClock(at, timeZone);
  return `${w.day}T${w.time}${offsetText(w.offsetMinutes)}`;
}

/** `at` as the zone's wall clock without the offset, 2026-03-06 18:00:00: spreadsheet-friendly. */
export function zonedWallClock(at: Date, timeZone: string): string {
  const w = wallClock(at, timeZone);
  return `${w.day} ${w.time}`;
}

/** "UTC+08:00": the zone's offset at `at`, for labels. */
export function utcOffsetLabel(timeZone: string, at = new Date()): string {
  return `UTC${offsetText(wallClock(at, timeZone).offsetMinutes)}`;
}

/** The instant `day` (YYYY-MM-DD) begins in `timeZone`: its 00:00, or the first moment after a DST gap. */
export function zonedStartOfDay(day: string, timeZone: string): Date {
  const midnightUtc = Date.parse(`${day}T00:00:00Z`);
  // The offset at the guess, then at the corrected guess (they differ only across a DST change).
  let at = midnightUtc - wallClock(new Date(midnightUtc), timeZone).offsetMinutes * 60_000;
  at = midnightUtc - wallClock(new Date(at), timeZone).offsetMinutes * 60_000;
  return new Date(at);
}
