/**
 * datacube statistics: user_summary (adds/cancels per source) and user_cumulate (total followers).
 * WeChat serves at most 7 days per call, ending no later than yesterday (Beijing calendar);
 * yesterday's figures are ready after about 08:00 Beijing time.
 */
import { beijingDate, dateOfDay, dayNumber } from '../calendar.ts';
import { InputError } from '../errors.ts';
import type { WeChatClient } from './client.ts';
import {
  DATACUBE_MAX_DAYS,
  type DateRangeRequest,
  UserCumulateResponse,
  type UserCumulateRow,
  UserSummaryResponse,
  type UserSummaryRow,
} from './schemas.ts';

export interface DateWindows {
  /** Consecutive windows of at most 7 days covering [from, min(to, yesterday)]; empty if none. */
  windows: DateRangeRequest[];
  /** Set when `to` was after yesterday (Beijing) and the range was cut to end there: warn the user. */
  clippedTo?: string;
}

/**
 * Splits [from, to] (inclusive, YYYY-MM-DD) into <= 7-day windows, clipped so that nothing ends
 * after yesterday on the Beijing calendar. `today` (a Beijing date string, or an instant) defaults
 * to now.
 */
export function splitDateRange(
  from: string,
  to: string,
  options: { today?: string | Date } = {},
): DateWindows {
  const first = dayNumber(from, 'from');
  const requestedLast = dayNumber(to, 'to');
  if (first > requestedLast) throw new InputError('from must not be after to');
  const todayIso = typeof options.today === 'string' ? options.today : beijingDate(options.today);
  const yesterday = dayNumber(todayIso, 'today') - 1;
  const last = Math.min(requestedLast, yesterday);
  const windows: DateRangeRequest[] = [];
  for (let start = first; start <= last; start += DATACUBE_MAX_DAYS) {
    const end = Math.min(start + DATACUBE_MAX_DAYS - 1, last);
    windows.push({ begin_date: dateOfDay(start), end_date: dateOfDay(end) });
  }
  return requestedLast > yesterday ? { windows, clippedTo: dateOfDay(yesterday) } : { windows };
}

function checkWindow(window: DateRangeRequest): void {
  const days = dayNumber(window.end_date, 'end_date') - dayNumber(window.begin_date, 'begin_date') + 1;
  if (days < 1 || days > DATACUBE_MAX_DAYS) {
    throw new InputError(`a datacube window spans 1 to ${DATACUBE_MAX_DAYS} days (use splitDateRange)`);
  }
}

/** POST /datacube/getusersummary for one window (<= 7 days). */
export async function getUserSummary(
  client: WeChatClient,
  window: DateRangeRequest,
): Promise<UserSummaryRow[]> {
  checkWindow(window);
  const answer = await client.post('/datacube/getusersummary', window, UserSummaryResponse);
  return answer.list;
}

/** POST /datacube/getusercumulate for one window (<= 7 days). */
export async function getUserCumulate(
  client: WeChatClient,
  window: DateRangeRequest,
): Promise<UserCumulateRow[]> {
  checkWindow(window);
  const answer = await client.post('/datacube/getusercumulate', window, UserCumulateResponse);
  return answer.list;
}
