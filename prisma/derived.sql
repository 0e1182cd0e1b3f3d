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
