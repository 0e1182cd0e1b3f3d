-- Views and reference data derived from the tables. Re-applied by every migration that
-- `npm run db:new-migration` writes (views are dropped first, so column changes never block them).
-- Edit this file, then author a migration, never edit an applied migration.

INSERT INTO user_source_labels (user_source, label_zh, label_en) VALUES
  (0, '其他合计', 'other'),
  (1, '公众号搜索', 'account search'),
  (17, '名片分享', 'profile card share'),
  (30, '扫描二维码', 'QR code scan'),
  (43, '图文页右上角菜单', 'article page menu'),
  (51, '支付后关注', 'after payment'),
  (57, '图文页内公众号名称', 'account name in article'),
  (75, '公众号文章广告', 'article ads'),
  (78, '朋友圈广告', 'Moments ads'),
  (100, '微信广告', 'WeChat ads'),
  (149, '小程序关注', 'mini program'),
  (161, '他人转载', 'reposted article'),
  (200, '视频号', 'Channels'),
  (201, '直播', 'live stream')
ON CONFLICT (user_source) DO UPDATE SET label_zh = EXCLUDED.label_zh, label_en = EXCLUDED.label_en;

-- Daily net follower growth (all sources), with WeChat's end-of-day total beside it.
CREATE VIEW daily_net_growth AS
SELECT s.ref_date,
       sum(s.new_user)::int                   AS new_user,
       sum(s.cancel_user)::int                AS cancel_user,
       (sum(s.new_user) - sum(s.cancel_user))::int AS net_growth,
       c.cumulate_user
FROM user_summary s
LEFT JOIN user_cumulate c ON c.ref_date = s.ref_date
GROUP BY s.ref_date, c.cumulate_user;
COMMENT ON VIEW daily_net_growth IS 'Per day: followers gained, lost, net growth (user_summary summed over sources) and WeChat''s end-of-day total (user_cumulate).';

-- Daily growth by source, labelled, unknown source codes keep their number as the label.
CREATE VIEW daily_growth_by_source AS
SELECT s.ref_date,
       s.user_source,
       coalesce(l.label_zh, s.user_source::text) AS source_label_zh,
       coalesce(l.label_en, s.user_source::text) AS source_label_en,
       s.new_user,
       s.cancel_user,
       s.new_user - s.cancel_user AS net_growth
FROM user_summary s
LEFT JOIN user_source_labels l ON l.user_source = s.user_source;
COMMENT ON VIEW daily_growth_by_source IS 'Per day and source: new, cancelled and net followers, with the source''s name.';

-- Churn: followers lost per day relative to the previous day's total.
CREATE VIEW daily_churn AS
SELECT g.ref_date,
       g.cancel_user,
       prev.cumulate_user AS previous_cumulate_user,
       CASE WHEN prev.cumulate_user > 0
            THEN round(g.cancel_user::numeric / prev.cumulate_user, 6) END AS churn_rate
FROM daily_net_growth g
LEFT JOIN user_cumulate prev ON prev.ref_date = g.ref_date - 1;
COMMENT ON VIEW daily_churn IS 'Per day: followers lost and churn rate = cancel_user / previous day''s cumulate_user.';

-- How far the mirror is from WeChat's own count: the stored followers who followed at the end of
-- each day (Beijing time) against cumulate_user.
CREATE VIEW follower_count_vs_cumulate AS
SELECT c.ref_date,
       c.cumulate_user,
       (SELECT count(*) FROM followers f
         WHERE f.subscribe_time < ((c.ref_date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai')
           AND (f.unsubscribed_at IS NULL
                OR f.unsubscribed_at >= ((c.ref_date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai'))
       )::int AS stored_followers,
       (SELECT count(*) FROM followers f WHERE f.subscribe)::int AS stored_followers_now
FROM user_cumulate c;
COMMENT ON VIEW follower_count_vs_cumulate IS 'Per day: WeChat''s cumulate_user against the followers stored here who followed at the end of that day (Beijing time), and the stored count now.';

-- Active vs unsubscribed followers right now.
CREATE VIEW follower_status AS
SELECT CASE WHEN subscribe THEN 'subscribed' ELSE 'unsubscribed' END AS status,
       count(*)::int AS followers
FROM followers
GROUP BY 1;
COMMENT ON VIEW follower_status IS 'How many stored users follow the account now and how many have left.';

-- When WeChat last confirmed each stored user's membership, by either kind of confirmation: an answer
-- about the user (followers.membership_confirmed_at) or a completed follower sync that listed them. A
-- listing confirms what it names as a set (follower_listing_pages), not row by row. Once a follower
-- sync has succeeded, every user stored as following was named by it or confirmed later (the rest
-- were flagged as gone), so its start is when they were last known to follow, at the latest.
CREATE VIEW follower_membership AS
SELECT f.openid,
       f.subscribe,
       CASE WHEN f.subscribe THEN greatest(f.membership_confirmed_at, s.started_at)
            ELSE f.membership_confirmed_at END AS membership_confirmed_at,
       f.profile_fetched_at,
       f.unsubscribed_at
FROM followers f
CROSS JOIN (SELECT max(started_at) AS started_at FROM sync_runs
            WHERE job = 'followers' AND status = 'succeeded') s;
COMMENT ON VIEW follower_membership IS 'Per stored user: following or not, and when WeChat last confirmed it (an answer about the user, or the last completed follower sync listing them), beside when the profile was last fetched.';
COMMENT ON COLUMN follower_membership.openid IS 'The user''s openid.';
COMMENT ON COLUMN follower_membership.subscribe IS 'Following the account now (followers.subscribe).';
COMMENT ON COLUMN follower_membership.membership_confirmed_at IS 'When WeChat last confirmed the membership: followers.membership_confirmed_at, or for a follower the start of the last succeeded follower sync if later (that sync listed them, or they would have been flagged as gone).';
COMMENT ON COLUMN follower_membership.profile_fetched_at IS 'When the profile was last fetched (followers.profile_fetched_at).';
COMMENT ON COLUMN follower_membership.unsubscribed_at IS 'When the user was found gone, null while following.';

-- The blacklist as WeChat has it now.
CREATE VIEW blacklist_current AS
SELECT openid, listed_at, last_synced_at FROM blacklist WHERE removed_at IS NULL;
COMMENT ON VIEW blacklist_current IS 'Users blacklisted now (blacklist rows not removed).';

-- Blacklist size at the end of each day since the first entry, derived from listed_at/removed_at.
CREATE VIEW blacklist_size_daily AS
SELECT d::date AS day,
       (SELECT count(*) FROM blacklist b
         WHERE b.listed_at < ((d::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai')
           AND (b.removed_at IS NULL OR b.removed_at >= ((d::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai'))
       )::int AS blacklisted
FROM generate_series(
       (SELECT min(listed_at AT TIME ZONE 'Asia/Shanghai')::date FROM blacklist),
       (now() AT TIME ZONE 'Asia/Shanghai')::date,
       interval '1 day') AS d;
COMMENT ON VIEW blacklist_size_daily IS 'Blacklist size at the end of each day (Beijing time), as far as wxsync has observed it.';

-- The latest run of every job.
CREATE VIEW sync_runs_latest AS
SELECT DISTINCT ON (job) id, job, status, started_at, finished_at, finished_at - started_at AS duration, counts, error
FROM sync_runs
ORDER BY job, started_at DESC;
COMMENT ON VIEW sync_runs_latest IS 'The most recent run of each sync job, with its status and counters.';
COMMENT ON COLUMN daily_net_growth.ref_date IS 'Beijing calendar day.';
COMMENT ON COLUMN daily_net_growth.new_user IS 'Followers gained that day, all sources (user_summary).';
COMMENT ON COLUMN daily_net_growth.cancel_user IS 'Followers lost that day, all sources (user_summary).';
COMMENT ON COLUMN daily_net_growth.net_growth IS 'new_user - cancel_user.';
COMMENT ON COLUMN daily_net_growth.cumulate_user IS 'WeChat''s total at the end of the day (user_cumulate), null when not fetched.';
COMMENT ON COLUMN daily_growth_by_source.ref_date IS 'Beijing calendar day.';
COMMENT ON COLUMN daily_growth_by_source.user_source IS 'WeChat''s user_source code.';
COMMENT ON COLUMN daily_growth_by_source.source_label_zh IS 'Chinese name of the source, the code itself when unknown.';
COMMENT ON COLUMN daily_growth_by_source.source_label_en IS 'English name of the source, the code itself when unknown.';
COMMENT ON COLUMN daily_growth_by_source.new_user IS 'Followers gained that day through the source.';
COMMENT ON COLUMN daily_growth_by_source.cancel_user IS 'Followers lost that day, attributed to the source.';
COMMENT ON COLUMN daily_growth_by_source.net_growth IS 'new_user - cancel_user.';
COMMENT ON COLUMN daily_churn.ref_date IS 'Beijing calendar day.';
COMMENT ON COLUMN daily_churn.cancel_user IS 'Followers lost that day.';
COMMENT ON COLUMN daily_churn.previous_cumulate_user IS 'WeChat''s total at the end of the previous day.';
COMMENT ON COLUMN daily_churn.churn_rate IS 'cancel_user / previous_cumulate_user (6 decimals), null without a previous total.';
COMMENT ON COLUMN follower_count_vs_cumulate.ref_date IS 'Beijing calendar day.';
COMMENT ON COLUMN follower_count_vs_cumulate.cumulate_user IS 'WeChat''s total at the end of the day.';
COMMENT ON COLUMN follower_count_vs_cumulate.stored_followers IS 'Stored followers whose subscribe_time is before the end of the day and who had not unsubscribed by then.';
COMMENT ON COLUMN follower_count_vs_cumulate.stored_followers_now IS 'Stored followers following now.';
COMMENT ON COLUMN follower_status.status IS 'subscribed or unsubscribed.';
COMMENT ON COLUMN follower_status.followers IS 'Stored users in that status.';
COMMENT ON COLUMN blacklist_current.openid IS 'openid of the blacklisted user.';
COMMENT ON COLUMN blacklist_current.listed_at IS 'Start of the current listing.';
COMMENT ON COLUMN blacklist_current.last_synced_at IS 'When a sync last confirmed the listing.';
COMMENT ON COLUMN blacklist_size_daily.day IS 'Beijing calendar day, from the first listing to today.';
COMMENT ON COLUMN blacklist_size_daily.blacklisted IS 'Users on the blacklist at the end of the day, as observed.';
COMMENT ON COLUMN sync_runs_latest.id IS 'sync_runs.id of the latest run of the job.';
COMMENT ON COLUMN sync_runs_latest.job IS 'Job name.';
COMMENT ON COLUMN sync_runs_latest.status IS 'running, retrying, paused, succeeded, failed or skipped (see sync_runs.status).';
COMMENT ON COLUMN sync_runs_latest.started_at IS 'When the run started.';
COMMENT ON COLUMN sync_runs_latest.finished_at IS 'When it ended, null while running.';
COMMENT ON COLUMN sync_runs_latest.duration IS 'finished_at - started_at.';
COMMENT ON COLUMN sync_runs_latest.counts IS 'The run''s counters.';
COMMENT ON COLUMN sync_runs_latest.error IS 'Why it failed, was skipped, paused or is being retried, null otherwise.';

-- follower_history is written by statement-level triggers on followers: every writer (syncs, the
-- events worker, admin actions, hand-written SQL) is covered by construction, in the statement that
-- changes the row. Transition tables keep it set-based: one join of the statement's old and new rows,
-- not a function call per row (the 1M-follower sync upserts 1,000 rows per statement).
-- Writers say who they are with set_config('wxsync.writer', 'sync' | 'event' | 'admin:<action>', true)
-- (src/db/followers.ts), the run and event ids come from the rows (last_run_id, last_event_id).
-- A period starts at the row's new updated_at (the writer's time), never before the period it closes.
-- CREATE OR REPLACE (not DROP + CREATE) so re-applying this file never leaves followers without them.
-- enable_nestloop = off: the planner has no row count for transition tables and joins old_rows to
-- new_rows with a nested loop, quadratic in the rows a statement touches (measured: 10,000 rows
-- 19 s, the per-page confirmation of a listing sync). A hash join is linear (10,000 rows: 0.26 s).
-- The periods to close stay an index lookup: `= ANY (ARRAY(...))` is an index condition, not a join.
CREATE OR REPLACE FUNCTION follower_history_record() RETURNS trigger LANGUAGE plpgsql
SET enable_nestloop = off AS $$
DECLARE
  writer text := coalesce(nullif(current_setting('wxsync.writer', true), ''), 'unknown');
  kind text := split_part(writer, ':', 1);
  action text := nullif(substr(writer, length(split_part(writer, ':', 1)) + 2), '');
BEGIN
  IF TG_OP = 'INSERT' THEN
    -- A new followers row has no open period (rows are never deleted, and a deletion closes its
    -- period, see below): the insert only opens one, no lookup.
    INSERT INTO follower_history (openid, valid_from, subscribe, subscribe_time, unsubscribed_at, remark,
      tagid_list, groupid, subscribe_scene, qr_scene, qr_scene_str, unionid, language,
      opened_by, opened_by_run_id, opened_by_event_id, opened_by_action)
    SELECT n.openid, n.updated_at, n.subscribe, n.subscribe_time, n.unsubscribed_at, n.remark,
      coalesce(n.tagid_list, '{}'), n.groupid, n.subscribe_scene, n.qr_scene, n.qr_scene_str, n.unionid,
      n.language, kind, CASE WHEN kind = 'sync' THEN n.last_run_id END,
      CASE WHEN kind = 'event' THEN n.last_event_id END, action
    FROM new_rows n;
  ELSIF TG_OP = 'TRUNCATE' THEN
    -- Emptying followers (e.g. to mirror again from scratch) ends every current period: the rows
    -- stored afterwards open new ones.
    UPDATE follower_history h
    SET valid_to = greatest(statement_timestamp(), h.valid_from), closed_by = kind, closed_by_action = action
    WHERE h.valid_to IS NULL;
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE follower_history h
    SET valid_to = greatest(statement_timestamp(), h.valid_from), closed_by = kind, closed_by_action = action
    WHERE h.valid_to IS NULL AND h.openid = ANY (ARRAY(SELECT openid FROM old_rows));
  ELSE
    WITH changed AS (
      SELECT n.*,
             CASE WHEN n.updated_at IS DISTINCT FROM o.updated_at THEN n.updated_at ELSE statement_timestamp() END
               AS changed_at
      FROM new_rows n JOIN old_rows o ON o.openid = n.openid
      WHERE (o.subscribe, o.subscribe_time, o.unsubscribed_at, o.remark, coalesce(o.tagid_list, '{}'), o.groupid,
             o.subscribe_scene, o.qr_scene, o.qr_scene_str, o.unionid, o.language)
            IS DISTINCT FROM
            (n.subscribe, n.subscribe_time, n.unsubscribed_at, n.remark, coalesce(n.tagid_list, '{}'), n.groupid,
             n.subscribe_scene, n.qr_scene, n.qr_scene_str, n.unionid, n.language)
    ), closed AS (
      UPDATE follower_history h
      SET valid_to = greatest(c.changed_at, h.valid_from), closed_by = kind,
          closed_by_run_id = CASE WHEN kind = 'sync' THEN c.last_run_id END,
          closed_by_event_id = CASE WHEN kind = 'event' THEN c.last_event_id END,
          closed_by_action = action
      FROM changed c
      -- The openid list makes the current periods an index lookup (follower_history_current_key), one
      -- probe per changed row: a join alone let the planner read every current period per statement,
      -- which made the 1M-follower sync quadratic.
      WHERE h.valid_to IS NULL AND h.openid = ANY (ARRAY(SELECT openid FROM changed)) AND h.openid = c.openid
      RETURNING h.openid, h.valid_to
    )
    INSERT INTO follower_history (openid, valid_from, subscribe, subscribe_time, unsubscribed_at, remark,
      tagid_list, groupid, subscribe_scene, qr_scene, qr_scene_str, unionid, language,
      opened_by, opened_by_run_id, opened_by_event_id, opened_by_action)
    SELECT c.openid, coalesce(cl.valid_to, c.changed_at), c.subscribe, c.subscribe_time, c.unsubscribed_at,
      c.remark, coalesce(c.tagid_list, '{}'), c.groupid, c.subscribe_scene, c.qr_scene, c.qr_scene_str,
      c.unionid, c.language, kind, CASE WHEN kind = 'sync' THEN c.last_run_id END,
      CASE WHEN kind = 'event' THEN c.last_event_id END, action
    FROM changed c LEFT JOIN closed cl ON cl.openid = c.openid;
  END IF;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION follower_history_record() IS 'Trigger function of followers: for every row the statement inserted, or whose tracked attributes it changed, closes the current follower_history period and opens a new one (a deleted row, or TRUNCATE, only closes periods).';

-- At most one current period per follower: a second one would be an overlap.
CREATE UNIQUE INDEX IF NOT EXISTS follower_history_current_key ON follower_history (openid) WHERE valid_to IS NULL;

CREATE OR REPLACE TRIGGER follower_history_on_insert AFTER INSERT ON followers
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION follower_history_record();
CREATE OR REPLACE TRIGGER follower_history_on_update AFTER UPDATE ON followers
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION follower_history_record();
CREATE OR REPLACE TRIGGER follower_history_on_delete AFTER DELETE ON followers
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION follower_history_record();
CREATE OR REPLACE TRIGGER follower_history_on_truncate AFTER TRUNCATE ON followers
  FOR EACH STATEMENT EXECUTE FUNCTION follower_history_record();

-- The followers who followed at the end of a Beijing calendar day, as the history knows them.
CREATE FUNCTION followers_on(day date)
RETURNS TABLE (openid text, subscribe_time timestamptz, remark text, tagid_list int[], groupid int,
  subscribe_scene text, qr_scene bigint, qr_scene_str text, unionid text, language text,
  valid_from timestamptz, valid_to timestamptz)
LANGUAGE sql STABLE AS $$
  SELECT h.openid, h.subscribe_time, h.remark, h.tagid_list, h.groupid, h.subscribe_scene, h.qr_scene,
         h.qr_scene_str, h.unionid, h.language, h.valid_from, h.valid_to
  FROM follower_history h
  WHERE h.subscribe
    AND h.valid_from < ((followers_on.day + 1)::timestamp AT TIME ZONE 'Asia/Shanghai')
    AND (h.valid_to IS NULL OR h.valid_to >= ((followers_on.day + 1)::timestamp AT TIME ZONE 'Asia/Shanghai'))
$$;
COMMENT ON FUNCTION followers_on(date) IS 'One row per follower who followed at the end of the given Beijing calendar day, with the attributes valid then (from follower_history: a day before a follower''s first sight does not list them). Example: SELECT count(*) FROM followers_on(''2026-03-01'') WHERE 2 = ANY(tagid_list)';

-- Tag names for joins: one row per (follower, tag carried now).
CREATE VIEW follower_tags AS
SELECT f.openid, t.tag_id, coalesce(tg.name, t.tag_id::text) AS tag_name, f.subscribe
FROM followers f
CROSS JOIN LATERAL unnest(f.tagid_list) AS t(tag_id)
LEFT JOIN tags tg ON tg.id = t.tag_id;
COMMENT ON VIEW follower_tags IS 'One row per stored user and tag they carry now (tagid_list unnested), with the tag''s name.';
COMMENT ON COLUMN follower_tags.openid IS 'The user (followers.openid).';
COMMENT ON COLUMN follower_tags.tag_id IS 'Tag id (tags.id).';
COMMENT ON COLUMN follower_tags.tag_name IS 'Tag name from tags, the id as text when tags/get never named it.';
COMMENT ON COLUMN follower_tags.subscribe IS 'Whether the user follows now.';

-- Current followers per tag, beside WeChat's own count.
CREATE VIEW tag_distribution AS
WITH carried AS (
  SELECT t.tag_id, count(*)::int AS followers
  FROM followers f CROSS JOIN LATERAL unnest(f.tagid_list) AS t(tag_id)
  WHERE f.subscribe
  GROUP BY t.tag_id
)
SELECT coalesce(tg.id, c.tag_id) AS tag_id,
       coalesce(tg.name, c.tag_id::text) AS tag_name,
       coalesce(c.followers, 0) AS followers,
       tg.count AS wechat_count,
       tg.removed_at
FROM tags tg
FULL JOIN carried c ON c.tag_id = tg.id
WHERE tg.removed_at IS NULL OR c.followers > 0;
COMMENT ON VIEW tag_distribution IS 'Per tag: followers carrying it now (stored tagid_list), with WeChat''s count from tags/get. Tags removed from WeChat appear only while stored followers still carry them.';
COMMENT ON COLUMN tag_distribution.tag_id IS 'Tag id.';
COMMENT ON COLUMN tag_distribution.tag_name IS 'Tag name, the id as text when tags/get never named it.';
COMMENT ON COLUMN tag_distribution.followers IS 'Stored users following now who carry the tag.';
COMMENT ON COLUMN tag_distribution.wechat_count IS 'WeChat''s count at the last tags sync (null: tag unknown to tags/get).';
COMMENT ON COLUMN tag_distribution.removed_at IS 'When the tag disappeared from tags/get, null while it exists.';

-- Parametric QR codes: who they brought and who stayed.
CREATE VIEW qr_scene_performance AS
WITH joins AS (
  SELECT coalesce(nullif(h.qr_scene_str, ''), nullif(h.qr_scene, 0)::text) AS scene, h.openid,
         coalesce(h.subscribe_time, h.valid_from) AS joined_at
  FROM follower_history h
  WHERE h.subscribe AND (coalesce(h.qr_scene_str, '') <> '' OR coalesce(h.qr_scene, 0) <> 0)
  UNION
  SELECT substr(e.event_key, 9), e.openid, e.create_time
  FROM follower_events e
  WHERE e.msg_type = 'event' AND lower(e.event) = 'subscribe' AND e.event_key LIKE 'qrscene\_%' AND length(e.event_key) > 8
), firsts AS (
  SELECT scene, openid, min(joined_at) AS joined_at FROM joins GROUP BY scene, openid
), leaves AS (
  SELECT h.openid, coalesce(h.unsubscribed_at, h.valid_from) AS left_at FROM follower_history h WHERE NOT h.subscribe
  UNION
  SELECT e.openid, e.create_time FROM follower_events e WHERE e.msg_type = 'event' AND lower(e.event) = 'unsubscribe'
), per_follower AS (
  SELECT fi.scene, fi.openid, fi.joined_at, min(l.left_at) AS first_left_at
  FROM firsts fi LEFT JOIN leaves l ON l.openid = fi.openid AND l.left_at >= fi.joined_at
  GROUP BY fi.scene, fi.openid, fi.joined_at
), gained AS (
  SELECT p.scene,
         count(*)::int AS followers_gained,
         count(*) FILTER (WHERE f.subscribe)::int AS still_following,
         count(*) FILTER (WHERE p.first_left_at < p.joined_at + interval '7 days')::int AS left_within_7_days,
         count(*) FILTER (WHERE p.first_left_at < p.joined_at + interval '30 days')::int AS left_within_30_days,
         min(p.joined_at) AS first_joined_at,
         max(p.joined_at) AS last_joined_at
  FROM per_follower p LEFT JOIN followers f ON f.openid = p.openid
  GROUP BY p.scene
), scans AS (
  SELECT e.event_key AS scene, count(*)::int AS scan_events, count(DISTINCT e.openid)::int AS scanning_followers
  FROM follower_events e
  WHERE e.msg_type = 'event' AND upper(e.event) = 'SCAN' AND e.event_key <> ''
  GROUP BY e.event_key
)
SELECT coalesce(g.scene, s.scene) AS scene,
       coalesce(g.followers_gained, 0) AS followers_gained,
       coalesce(g.still_following, 0) AS still_following,
       coalesce(g.left_within_7_days, 0) AS left_within_7_days,
       coalesce(g.left_within_30_days, 0) AS left_within_30_days,
       coalesce(s.scan_events, 0) AS scan_events,
       coalesce(s.scanning_followers, 0) AS scanning_followers,
       g.first_joined_at,
       g.last_joined_at
FROM gained g
FULL JOIN scans s ON s.scene = g.scene;
COMMENT ON VIEW qr_scene_performance IS 'Per parametric QR scene (qr_scene_str, else qr_scene, of follower_history, and the qrscene_ EventKey of subscribe pushes): followers gained, still following, left within 7 and 30 days of joining, SCAN pushes by existing followers.';
COMMENT ON COLUMN qr_scene_performance.scene IS 'Scene value as text: the scene string, or the numeric scene id.';
COMMENT ON COLUMN qr_scene_performance.followers_gained IS 'Distinct users who followed through the scene (history periods carrying it, or a subscribe push with EventKey qrscene_<scene>).';
COMMENT ON COLUMN qr_scene_performance.still_following IS 'Of them, users following now.';
COMMENT ON COLUMN qr_scene_performance.left_within_7_days IS 'Of them, users whose first unfollow after joining through the scene came less than 7 days after joining.';
COMMENT ON COLUMN qr_scene_performance.left_within_30_days IS 'Same within 30 days (includes left_within_7_days).';
COMMENT ON COLUMN qr_scene_performance.scan_events IS 'SCAN pushes with this EventKey: existing followers scanning the code.';
COMMENT ON COLUMN qr_scene_performance.scanning_followers IS 'Distinct users behind scan_events.';
COMMENT ON COLUMN qr_scene_performance.first_joined_at IS 'Earliest join through the scene.';
COMMENT ON COLUMN qr_scene_performance.last_joined_at IS 'Latest first join through the scene.';

-- Monthly cohorts: how many of a month's new followers stayed, now and after 30/90/180 days.
CREATE VIEW cohort_retention AS
WITH joins AS (
  SELECT DISTINCT h.openid, h.subscribe_time AS joined_at
  FROM follower_history h
  WHERE h.subscribe AND h.subscribe_time IS NOT NULL
), coverage AS (
  SELECT h.openid, min(h.valid_from) AS history_from FROM follower_history h GROUP BY h.openid
), marks AS (
  SELECT j.openid, j.joined_at, d.days, j.joined_at + make_interval(days => d.days) AS at,
         (c.history_from <= j.joined_at + make_interval(days => d.days)
          AND j.joined_at + make_interval(days => d.days) <= now()) AS covered
  FROM joins j JOIN coverage c ON c.openid = j.openid
  CROSS JOIN (VALUES (30), (90), (180)) AS d(days)
), checked AS (
  SELECT m.openid, m.joined_at, m.days, m.covered,
         m.covered AND EXISTS (
           SELECT 1 FROM follower_history h
           WHERE h.openid = m.openid AND h.subscribe AND h.valid_from <= m.at
             AND (h.valid_to IS NULL OR h.valid_to > m.at)) AS following
  FROM marks m
), per_join AS (
  SELECT c.openid, c.joined_at,
         bool_or(c.covered) FILTER (WHERE c.days = 30) AS covered_30d,
         bool_or(c.following) FILTER (WHERE c.days = 30) AS following_30d,
         bool_or(c.covered) FILTER (WHERE c.days = 90) AS covered_90d,
         bool_or(c.following) FILTER (WHERE c.days = 90) AS following_90d,
         bool_or(c.covered) FILTER (WHERE c.days = 180) AS covered_180d,
         bool_or(c.following) FILTER (WHERE c.days = 180) AS following_180d
  FROM checked c GROUP BY c.openid, c.joined_at
)
SELECT date_trunc('month', p.joined_at AT TIME ZONE 'Asia/Shanghai')::date AS cohort_month,
       count(*)::int AS joined,
       count(*) FILTER (WHERE f.subscribe)::int AS still_following,
       round(count(*) FILTER (WHERE f.subscribe)::numeric / count(*), 4) AS retention,
       count(*) FILTER (WHERE p.covered_30d)::int AS covered_30d,
       count(*) FILTER (WHERE p.following_30d)::int AS retained_30d,
       round(count(*) FILTER (WHERE p.following_30d)::numeric / nullif(count(*) FILTER (WHERE p.covered_30d), 0), 4) AS retention_30d,
       count(*) FILTER (WHERE p.covered_90d)::int AS covered_90d,
       count(*) FILTER (WHERE p.following_90d)::int AS retained_90d,
       round(count(*) FILTER (WHERE p.following_90d)::numeric / nullif(count(*) FILTER (WHERE p.covered_90d), 0), 4) AS retention_90d,
       count(*) FILTER (WHERE p.covered_180d)::int AS covered_180d,
       count(*) FILTER (WHERE p.following_180d)::int AS retained_180d,
       round(count(*) FILTER (WHERE p.following_180d)::numeric / nullif(count(*) FILTER (WHERE p.covered_180d), 0), 4) AS retention_180d
FROM per_join p JOIN followers f ON f.openid = p.openid
GROUP BY 1;
COMMENT ON VIEW cohort_retention IS 'Per Beijing month of subscribe_time (each subscription recorded in follower_history, a re-follow joins a later cohort too): joined, following now, and following 30/90/180 days after joining among the joins the history covers at that point.';
COMMENT ON COLUMN cohort_retention.cohort_month IS 'First day of the Beijing calendar month the users followed in.';
COMMENT ON COLUMN cohort_retention.joined IS 'Subscriptions that started that month (distinct user and subscribe_time).';
COMMENT ON COLUMN cohort_retention.still_following IS 'Of them, users following now.';
COMMENT ON COLUMN cohort_retention.retention IS 'still_following / joined (4 decimals).';
COMMENT ON COLUMN cohort_retention.covered_30d IS 'Joins whose 30th day after joining is past and within the user''s history (history began by then).';
COMMENT ON COLUMN cohort_retention.retained_30d IS 'Of covered_30d, users following 30 days after joining.';
COMMENT ON COLUMN cohort_retention.retention_30d IS 'retained_30d / covered_30d, null when none is covered.';
COMMENT ON COLUMN cohort_retention.covered_90d IS 'Same as covered_30d at 90 days.';
COMMENT ON COLUMN cohort_retention.retained_90d IS 'Same as retained_30d at 90 days.';
COMMENT ON COLUMN cohort_retention.retention_90d IS 'retained_90d / covered_90d, null when none is covered.';
COMMENT ON COLUMN cohort_retention.covered_180d IS 'Same as covered_30d at 180 days.';
COMMENT ON COLUMN cohort_retention.retained_180d IS 'Same as retained_30d at 180 days.';
COMMENT ON COLUMN cohort_retention.retention_180d IS 'retained_180d / covered_180d, null when none is covered.';

-- Comebacks: a subscribed period after an unsubscribed one, or a newer subscribe_time (left and
-- came back between two observations).
CREATE VIEW returning_followers AS
WITH periods AS (
  SELECT h.openid, h.id, h.valid_from, h.subscribe, h.subscribe_time,
         lag(h.subscribe) OVER w AS prev_subscribe,
         lag(h.subscribe_time) OVER w AS prev_subscribe_time,
         lag(h.unsubscribed_at) OVER w AS prev_unsubscribed_at,
         lag(h.valid_from) OVER w AS prev_valid_from
  FROM follower_history h
  WINDOW w AS (PARTITION BY h.openid ORDER BY h.valid_from, h.id)
), comebacks AS (
  SELECT p.*,
         CASE WHEN NOT p.prev_subscribe THEN coalesce(p.prev_unsubscribed_at, p.prev_valid_from) END AS left_at,
         coalesce(p.subscribe_time, p.valid_from) AS returned_at
  FROM periods p
  WHERE p.subscribe AND (NOT p.prev_subscribe OR p.subscribe_time > p.prev_subscribe_time)
)
SELECT c.openid,
       c.prev_subscribe_time AS previous_subscribe_time,
       c.left_at,
       c.returned_at,
       c.returned_at - c.left_at AS away,
       row_number() OVER (PARTITION BY c.openid ORDER BY c.valid_from, c.id)::int AS comeback_number,
       f.subscribe AS following_now
FROM comebacks c JOIN followers f ON f.openid = c.openid;
COMMENT ON VIEW returning_followers IS 'One row per comeback seen in follower_history: a user who left and followed again.';
COMMENT ON COLUMN returning_followers.openid IS 'The user.';
COMMENT ON COLUMN returning_followers.previous_subscribe_time IS 'subscribe_time of the subscription that ended.';
COMMENT ON COLUMN returning_followers.left_at IS 'When they left (unsubscribed_at), null when the leaving fell between two observations (only subscribe_time moved).';
COMMENT ON COLUMN returning_followers.returned_at IS 'When they followed again (the new subscribe_time).';
COMMENT ON COLUMN returning_followers.away IS 'returned_at - left_at.';
COMMENT ON COLUMN returning_followers.comeback_number IS '1 for a user''s first comeback, 2 for the second...';
COMMENT ON COLUMN returning_followers.following_now IS 'Whether the user follows now.';

-- Real-time follows from /wx pushes, ahead of datacube (a day late).
CREATE VIEW hourly_follow_events AS
SELECT date_trunc('hour', e.create_time AT TIME ZONE 'Asia/Shanghai') AS hour,
       (e.create_time AT TIME ZONE 'Asia/Shanghai')::date AS day,
       count(*) FILTER (WHERE lower(e.event) = 'subscribe')::int AS subscribes,
       count(*) FILTER (WHERE lower(e.event) = 'subscribe' AND e.event_key LIKE 'qrscene\_%')::int AS qr_subscribes,
       count(*) FILTER (WHERE lower(e.event) = 'unsubscribe')::int AS unsubscribes,
       (count(*) FILTER (WHERE lower(e.event) = 'subscribe') - count(*) FILTER (WHERE lower(e.event) = 'unsubscribe'))::int AS net
FROM follower_events e
WHERE e.msg_type = 'event' AND lower(e.event) IN ('subscribe', 'unsubscribe')
GROUP BY 1, 2;
COMMENT ON VIEW hourly_follow_events IS 'Subscribe and unsubscribe pushes per Beijing hour, from follower_events (real time, datacube reports a day late).';
COMMENT ON COLUMN hourly_follow_events.hour IS 'Start of the hour, Beijing time (timestamp without time zone).';
COMMENT ON COLUMN hourly_follow_events.day IS 'Beijing calendar day of the hour.';
COMMENT ON COLUMN hourly_follow_events.subscribes IS 'subscribe pushes (WeChat retries collapse onto one).';
COMMENT ON COLUMN hourly_follow_events.qr_subscribes IS 'Of them, through a parametric QR code (EventKey qrscene_...).';
COMMENT ON COLUMN hourly_follow_events.unsubscribes IS 'unsubscribe pushes.';
COMMENT ON COLUMN hourly_follow_events.net IS 'subscribes - unsubscribes.';

-- What /wx saw each day beside what datacube reports for it.
CREATE VIEW daily_events_vs_datacube AS
WITH ev AS (
  SELECT (e.create_time AT TIME ZONE 'Asia/Shanghai')::date AS day,
         count(*) FILTER (WHERE lower(e.event) = 'subscribe')::int AS subscribe_events,
         count(*) FILTER (WHERE lower(e.event) = 'unsubscribe')::int AS unsubscribe_events
  FROM follower_events e
  WHERE e.msg_type = 'event' AND lower(e.event) IN ('subscribe', 'unsubscribe')
  GROUP BY 1
), dc AS (
  SELECT s.ref_date AS day, sum(s.new_user)::int AS new_user, sum(s.cancel_user)::int AS cancel_user
  FROM user_summary s GROUP BY 1
)
SELECT coalesce(ev.day, dc.day) AS day,
       coalesce(ev.subscribe_events, 0) AS subscribe_events,
       coalesce(ev.unsubscribe_events, 0) AS unsubscribe_events,
       dc.new_user,
       dc.cancel_user,
       dc.new_user - coalesce(ev.subscribe_events, 0) AS new_user_gap,
       dc.cancel_user - coalesce(ev.unsubscribe_events, 0) AS cancel_user_gap
FROM ev FULL JOIN dc ON dc.day = ev.day;
COMMENT ON VIEW daily_events_vs_datacube IS 'Per Beijing day: subscribe/unsubscribe pushes /wx recorded beside datacube''s new_user/cancel_user (all sources), and the gaps.';
COMMENT ON COLUMN daily_events_vs_datacube.day IS 'Beijing calendar day.';
COMMENT ON COLUMN daily_events_vs_datacube.subscribe_events IS 'subscribe pushes recorded that day.';
COMMENT ON COLUMN daily_events_vs_datacube.unsubscribe_events IS 'unsubscribe pushes recorded that day.';
COMMENT ON COLUMN daily_events_vs_datacube.new_user IS 'datacube new_user summed over sources, null until datacube reported the day (T+1).';
COMMENT ON COLUMN daily_events_vs_datacube.cancel_user IS 'datacube cancel_user summed over sources, null until reported.';
COMMENT ON COLUMN daily_events_vs_datacube.new_user_gap IS 'new_user - subscribe_events: follows WeChat counted that /wx did not see (negative: more pushes than WeChat counts).';
COMMENT ON COLUMN daily_events_vs_datacube.cancel_user_gap IS 'cancel_user - unsubscribe_events.';
