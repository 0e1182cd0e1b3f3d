/**
 * The demo's verdict: the mirror in PostgreSQL compared with what the (fake) platform says, openid
 * by openid, plus the events and statistics the run stored.
 */
import { listedOpenids } from '../db/blacklist.ts';
import type { Db } from '../db/client.ts';
import { countFollowerEventsSince } from '../db/follower-events.ts';
import { followerCounts, subscribedOpenids } from '../db/followers.ts';
import { statsCoverage } from '../db/stats.ts';
import type { FakeState } from '../fake-wechat/index.ts';
import { wxEvents } from '../metrics.ts';

export interface SetComparison {
  platform: number;
  stored: number;
  /** On the platform, not stored (or not as current). */
  missing: number;
  /** Stored as current, not on the platform. */
  extra: number;
  match: boolean;
}

export interface MirrorReport {
  followers: SetComparison;
  /** Rows kept for users who left (subscribe = false), all time. */
  unsubscribedRows: number;
  /** The burst's unsubscribes found flagged (subscribe = false, unsubscribed_at set). */
  goneFlagged: { flagged: number; expected: number };
  /** The burst's new followers found stored as following. */
  newStored: { stored: number; expected: number };
  blacklist: SetComparison;
  events: { accepted: number; duplicates: number; rejected: number; recorded: number; applied: number };
  stats: {
    from: string;
    to: string;
    days: number;
    cumulateDays: number;
    summaryDays: number;
    summaryRows: number;
    publisherDays: number;
    settlements: number;
  };
  ok: boolean;
}

export function compareSets(platform: string[], stored: string[]): SetComparison {
  const p = new Set(platform);
  const s = new Set(stored);
  let missing = 0;
  for (const id of p) if (!s.has(id)) missing++;
  let extra = 0;
  for (const id of s) if (!p.has(id)) extra++;
  return { platform: p.size, stored: s.size, missing, extra, match: missing === 0 && extra === 0 };
}

/** accepted / duplicate / rejected pushes counted by /wx in this process (the demo's server). */
export async function pushCounts(): Promise<{ accepted: number; duplicates: number; rejected: number }> {
  const sums = { accepted: 0, duplicate: 0, rejected: 0 } as Record<string, number>;
  for (const v of (await wxEvents.get()).values) {
    const result = String(v.labels.result ?? '');
    if (result in sums) sums[result] = (sums[result] ?? 0) + v.value;
  }
  return { accepted: sums.accepted ?? 0, duplicates: sums.duplicate ?? 0, rejected: sums.rejected ?? 0 };
}

export async function compareMirror(
  db: Db,
  state: FakeState,
  burst: { since: Date; gone: string[]; added: string[] },
  range: { from: string; to: string; days: number },
): Promise<MirrorReport> {
  const followers = compareSets(state.followerOpenids(), await subscribedOpenids(db));
  const blacklist = compareSets(state.blacklistOpenids(), await listedOpenids(db));
  const { unsubscribedRows, flagged, added } = await followerCounts(db, burst);
  const { from, to } = range;
  const coverage = await statsCoverage(db, { from, to });
  const { cumulateDays, publisherDays } = coverage;
  const events = { ...(await pushCounts()), ...(await countFollowerEventsSince(db, burst.since)) };
  const report: MirrorReport = {
    followers,
    unsubscribedRows,
    goneFlagged: { flagged, expected: burst.gone.length },
    newStored: { stored: added, expected: burst.added.length },
    blacklist,
    events,
    stats: {
      from,
      to,
      days: range.days,
      ...coverage,
    },
    ok: false,
  };
  report.ok =
    followers.match &&
    blacklist.match &&
    flagged === burst.gone.length &&
    added === burst.added.length &&
    events.applied === events.recorded &&
    events.accepted === events.recorded &&
    cumulateDays === range.days &&
    publisherDays === range.days;
  return report;
}
