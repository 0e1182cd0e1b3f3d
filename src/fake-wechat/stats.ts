/**
 * Generated statistics: datacube user summary/cumulate and publisher/stat series, consistent with
 * each other and with the follower count: cumulate(d) = cumulate(d-1) + sum(new_user) - sum(cancel_user),
 * and cumulate(yesterday) equals the initial number of followers.
 */

import { beijingDayNumber, dateOfDay } from '../calendar.ts';
import type { CpsDailyRow, SettlementEntry, UserCumulateRow, UserSummaryRow } from '../wechat/schemas.ts';
import { hash32, Rng } from './prng.ts';

const DAY_MS = 86_400_000;
/**
 * user_source codes WeChat reports: 0 other, 1 search, 17 card share, 30 QR code, 43 article menu,
 * 51 after payment, 57 name in article, 100 WeChat ads, 149 mini program, 161 reposted article,
 * 200 Channels (视频号), 201 live; 999 stands for a code WeChat adds after our label table.
 */
export const USER_SOURCES = [0, 1, 17, 30, 43, 51, 57, 100, 149, 161, 200, 201, 999];
export const SLOT_IDS = ['SLOT_ID_WEAPP_BANNER', 'SLOT_ID_WEAPP_REWARD_VIDEO', 'SLOT_ID_MP_ARTICLE_BOTTOM'];

export interface Stats {
  firstDay: number;
  lastDay: number;
  summary: Map<number, UserSummaryRow[]>;
  cumulate: Map<number, UserCumulateRow>;
  cps: Map<number, CpsDailyRow>;
  settlements: SettlementEntry[];
}

export function generateStats(options: {
  seed: number;
  days: number;
  followers: number;
  nowMs: number;
}): Stats {
  // Yesterday in Beijing, as a day number: WeChat's statistics end there.
  const lastDay = beijingDayNumber(options.nowMs) - 1;
  const firstDay = lastDay - options.days + 1;
  const summary = new Map<number, UserSummaryRow[]>();
  const net = new Map<number, number>();
  const scale = Math.max(1, options.followers / 1000);
  for (let day = firstDay; day <= lastDay; day++) {
    const rng = new Rng(hash32(options.seed, day, 0x5a3));
    const rows: UserSummaryRow[] = [];
    let dayNet = 0;
    for (const source of USER_SOURCES) {
      // WeChat omits sources with no activity that day, but always sends source 0.
      if (source !== 0 && rng.chance(0.3)) continue;
      const new_user = Math.round(rng.next() * 2 * scale);
      const cancel_user = Math.round(rng.next() * 1.2 * scale);
      rows.push({ ref_date: dateOfDay(day), user_source: source, new_user, cancel_user });
      dayNet += new_user - cancel_user;
    }
    summary.set(day, rows);
    net.set(day, dayNet);
  }
  const cumulate = new Map<number, UserCumulateRow>();
  let total = options.followers;
  for (let day = lastDay; day >= firstDay; day--) {
    cumulate.set(day, { ref_date: dateOfDay(day), cumulate_user: total });
    total -= net.get(day)!;
  }
  const cps = new Map<number, CpsDailyRow>();
  for (let day = firstDay; day <= lastDay; day++) {
    const rng = new Rng(hash32(options.seed, day, 0xc95));
    const exposure_count = rng.int(500, 20_000);
    const click_count = rng.int(0, Math.floor(exposure_count / 20));
    const order_count = rng.int(0, Math.floor(click_count / 50));
    const total_fee = order_count * rng.int(1_000, 90_000);
    cps.set(day, {
      date: dateOfDay(day),
      exposure_count,
      click_count,
      click_rate: exposure_count ? (click_count / exposure_count) * 1000 : 0,
      order_count,
      order_rate: click_count ? order_count / click_count : 0,
      total_fee,
      total_commission: Math.round(total_fee * 0.15),
    });
  }
  return {
    firstDay,
    lastDay,
    summary,
    cumulate,
    cps,
    settlements: settlements(options.seed, firstDay, lastDay),
  };
}

/** Two settlements a month (1st-15th and 16th-end), paid out ten days after each half-month. */
function settlements(seed: number, firstDay: number, lastDay: number): SettlementEntry[] {
  const out: SettlementEntry[] = [];
  const first = new Date(firstDay * DAY_MS);
  let year = first.getUTCFullYear();
  let month = first.getUTCMonth();
  let order = 1;
  for (;;) {
    for (const half of [1, 2] as const) {
      const endDay =
        half === 1 ? Date.UTC(year, month, 15) / DAY_MS : Date.UTC(year, month + 1, 1) / DAY_MS - 1;
      const payDay = endDay + 10;
      if (payDay > lastDay) return out;
      if (payDay < firstDay) continue;
      const rng = new Rng(hash32(seed, payDay, 0x5e7));
      const slot_revenue = SLOT_IDS.filter((_, i) => i === 0 || rng.chance(0.6)).map((slot_id) => ({
        slot_id,
        slot_settled_revenue: rng.int(10_000, 5_000_000),
      }));
      const lastOfMonth = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
      out.push({
        date: dateOfDay(payDay),
        zone:
          half === 1 ? `${year}年${month + 1}月1日至15日` : `${year}年${month + 1}月16日至${lastOfMonth}日`,
        month: `${year}${String(month + 1).padStart(2, '0')}`,
        order: order++,
        sett_status: rng.pick([1, 2, 3]),
        settled_revenue: slot_revenue.reduce((sum, slot) => sum + slot.slot_settled_revenue, 0),
        sett_no: `SETT${year}${String(month + 1).padStart(2, '0')}${half}${rng.int(100_000, 999_999)}`,
        mail_send_cnt: String(rng.int(0, 2)),
        slot_revenue,
      });
    }
    month++;
    if (month === 12) {
      month = 0;
      year++;
    }
  }
}
