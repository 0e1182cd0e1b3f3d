/**
 * Reads of the analyst views (prisma/derived.sql) for the operator dashboard, so the page shows
 * exactly what an analyst's SQL on the same views returns: hourly follow events, events beside
 * datacube per day, QR scene performance, monthly cohort retention and followers per tag.
 * The views count in Beijing time (WeChat's statistics calendar).
 */
import type { Db } from './client.ts';

export interface HourRow {
  /** Start of the hour. */
  hour: Date;
  subscribes: number;
  qr_subscribes: number;
  unsubscribes: number;
}

/**
 * Follow events per hour from `since` (inclusive) to `until` (exclusive). The view's hours are
 * Beijing wall-clock timestamps; they are turned back into instants here, so a caller in any zone
 * gets its own hours (every zone in use is a whole number of hours from Beijing, or a half: a
 * half-hour zone sees each Beijing hour at its own :30).
 */
export function followEventsByHour(db: Db, since: Date, until: Date): Promise<HourRow[]> {
  return db.$queryRaw<HourRow[]>`
    SELECT hour AT TIME ZONE 'Asia/Shanghai' AS hour, subscribes, qr_subscribes, unsubscribes
    FROM hourly_follow_events
    WHERE hour >= (${since}::timestamptz AT TIME ZONE 'Asia/Shanghai')
      AND hour < (${until}::timestamptz AT TIME ZONE 'Asia/Shanghai')
    ORDER BY hour`;
}

export interface EventsVsDatacubeRow {
  day: string;
  subscribe_events: number;
  unsubscribe_events: number;
  new_user: number | null;
  cancel_user: number | null;
}

/** Pushes /wx recorded per Beijing day beside datacube's totals, for [from, to]. */
export function eventsVsDatacube(db: Db, from: string, to: string): Promise<EventsVsDatacubeRow[]> {
  return db.$queryRaw<EventsVsDatacubeRow[]>`
    SELECT day::text AS day, subscribe_events, unsubscribe_events, new_user, cancel_user
    FROM daily_events_vs_datacube
    WHERE day BETWEEN ${from}::date AND ${to}::date
    ORDER BY day`;
}

export interface SceneRow {
  scene: string;
  followers_gained: number;
  still_following: number;
  left_within_7_days: number;
  left_within_30_days: number;
  scan_events: number;
  first_joined_at: Date | null;
  last_joined_at: Date | null;
}

/** The `limit` QR scenes that brought the most followers (ties: the scene's text). */
export function topQrScenes(db: Db, limit: number): Promise<SceneRow[]> {
  return db.$queryRaw<SceneRow[]>`
    SELECT scene, followers_gained, still_following, left_within_7_days, left_within_30_days, scan_events,
           first_joined_at, last_joined_at
    FROM qr_scene_performance
    WHERE followers_gained > 0
    ORDER BY followers_gained DESC, scene
    LIMIT ${limit}`;
}

export interface CohortRow {
  cohort_month: string;
  joined: number;
  still_following: number;
  retention: number;
  covered_30d: number;
  retention_30d: number | null;
  covered_90d: number;
  retention_90d: number | null;
  covered_180d: number;
  retention_180d: number | null;
}

/** The `months` newest monthly cohorts that have joins, newest first. */
export function recentCohorts(db: Db, months: number): Promise<CohortRow[]> {
  return db.$queryRaw<CohortRow[]>`
    SELECT cohort_month::text AS cohort_month, joined, still_following, retention::float8 AS retention,
           covered_30d, retention_30d::float8 AS retention_30d, covered_90d, retention_90d::float8 AS retention_90d,
           covered_180d, retention_180d::float8 AS retention_180d
    FROM cohort_retention
    ORDER BY cohort_month DESC
    LIMIT ${months}`;
}

export interface TagRow {
  tag_id: number;
  tag_name: string;
  followers: number;
  wechat_count: number | null;
}

/** Followers per tag now (tags still carried or still defined), most followers first. */
export function tagDistribution(db: Db): Promise<TagRow[]> {
  return db.$queryRaw<TagRow[]>`
    SELECT tag_id, tag_name, followers, wechat_count
    FROM tag_distribution
    ORDER BY followers DESC, tag_id`;
}
