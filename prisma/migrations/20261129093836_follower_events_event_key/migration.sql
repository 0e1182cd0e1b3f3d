-- Views are recreated from prisma/derived.sql at the end of every migration.

DROP VIEW IF EXISTS "daily_net_growth" CASCADE;

DROP VIEW IF EXISTS "daily_growth_by_source" CASCADE;

DROP VIEW IF EXISTS "daily_churn" CASCADE;

DROP VIEW IF EXISTS "follower_count_vs_cumulate" CASCADE;

DROP VIEW IF EXISTS "follower_status" CASCADE;

DROP VIEW IF EXISTS "blacklist_current" CASCADE;

DROP VIEW IF EXISTS "blacklist_size_daily" CASCADE;

DROP VIEW IF EXISTS "sync_runs_latest" CASCADE;

-- DropIndex
DROP INDEX "follower_events_dedupe_key";

-- Rows stored before: no EventKey was NULL, now the empty string (hand-written, before the NOT NULL).
UPDATE "follower_events" SET "event_key" = '' WHERE "event_key" IS NULL;

-- AlterTable
ALTER TABLE "follower_events" ALTER COLUMN "event_key" SET NOT NULL,
ALTER COLUMN "event_key" SET DEFAULT '';

-- CreateIndex
CREATE UNIQUE INDEX "follower_events_dedupe_key" ON "follower_events"("openid", "event", "create_time", "msg_id", "event_key");

-- Column and table comments, from the /// docs in schema.prisma.

COMMENT ON TABLE "followers" IS 'One row per WeChat user who has ever followed the account (never deleted).';
COMMENT ON COLUMN "followers"."openid" IS 'WeChat openid of the user for this account (stable per account).';
COMMENT ON COLUMN "followers"."unionid" IS 'UnionID across the owner''s WeChat apps, only present when the account is bound to an Open Platform account.';
COMMENT ON COLUMN "followers"."subscribe" IS 'true while the user follows the account, false once we learn they unsubscribed.';
COMMENT ON COLUMN "followers"."nickname" IS 'Nickname as WeChat returned it (WeChat returns an empty string for most accounts since 2021-12).';
COMMENT ON COLUMN "followers"."sex" IS '0 unknown, 1 male, 2 female (WeChat stopped returning it in 2021: mostly 0).';
COMMENT ON COLUMN "followers"."language" IS 'Client language, e.g. zh_CN.';
COMMENT ON COLUMN "followers"."city" IS 'City as WeChat returned it (mostly empty since 2021).';
COMMENT ON COLUMN "followers"."province" IS 'Province as WeChat returned it (mostly empty since 2021).';
COMMENT ON COLUMN "followers"."country" IS 'Country as WeChat returned it (mostly empty since 2021).';
COMMENT ON COLUMN "followers"."headimgurl" IS 'Avatar URL (mostly empty since 2021).';
COMMENT ON COLUMN "followers"."subscribe_time" IS 'When the user (last) followed, from WeChat''s subscribe_time.';
COMMENT ON COLUMN "followers"."remark" IS 'Operator''s remark on this user.';
COMMENT ON COLUMN "followers"."groupid" IS 'Legacy group id (WeChat keeps 0 for everyone since tags replaced groups).';
COMMENT ON COLUMN "followers"."tagid_list" IS 'Tag ids the user carries.';
COMMENT ON COLUMN "followers"."subscribe_scene" IS 'How the user followed: ADD_SCENE_SEARCH, ADD_SCENE_QR_CODE, ... (see WeChat docs).';
COMMENT ON COLUMN "followers"."qr_scene" IS 'Numeric scene of the parametric QR code the user followed through (0 if none).';
COMMENT ON COLUMN "followers"."qr_scene_str" IS 'String scene of the parametric QR code the user followed through.';
COMMENT ON COLUMN "followers"."first_seen_at" IS 'When wxsync first stored this user.';
COMMENT ON COLUMN "followers"."updated_at" IS 'When a stored value of this row last changed (not moved by a sync that found nothing new).';
COMMENT ON COLUMN "followers"."last_synced_at" IS 'When a sync or an event last confirmed this row against WeChat.';
COMMENT ON COLUMN "followers"."unsubscribed_at" IS 'When we learned the user unsubscribed (event time or the sync that found them gone), null while following.';
COMMENT ON TABLE "follower_events" IS 'Every message or event WeChat pushed to /wx, recorded once (WeChat''s retries collapse onto one row).';
COMMENT ON COLUMN "follower_events"."id" IS 'Surrogate key, in arrival order.';
COMMENT ON COLUMN "follower_events"."openid" IS 'FromUserName: the openid of the user who caused the push.';
COMMENT ON COLUMN "follower_events"."event" IS 'Event name for MsgType=event (subscribe, unsubscribe, SCAN, CLICK, VIEW, LOCATION...), otherwise the MsgType (text, image...).';
COMMENT ON COLUMN "follower_events"."msg_type" IS 'MsgType as pushed (event, text, image, voice, video, location, link...).';
COMMENT ON COLUMN "follower_events"."event_key" IS 'EventKey as pushed (qrscene_<scene> for QR subscribes, menu key for CLICK...), empty string when none (part of the uniqueness key: two menu clicks in one second are two rows).';
COMMENT ON COLUMN "follower_events"."msg_id" IS 'MsgId for ordinary messages, empty string for events (part of the uniqueness key).';
COMMENT ON COLUMN "follower_events"."create_time" IS 'CreateTime of the push (WeChat''s clock, second precision).';
COMMENT ON COLUMN "follower_events"."received_at" IS 'When wxsync received the push.';
COMMENT ON COLUMN "follower_events"."payload" IS 'The whole decrypted message as JSON (field names as WeChat sends them).';
COMMENT ON COLUMN "follower_events"."processed_at" IS 'When the worker finished applying this event to followers (null: not applied, or not applicable).';
COMMENT ON TABLE "blacklist" IS 'Users the account has blacklisted. Rows are flagged, not deleted, when they leave the list, so the blacklist''s history stays queryable, the current list is WHERE removed_at IS NULL (view blacklist_current).';
COMMENT ON COLUMN "blacklist"."openid" IS 'openid of the blacklisted user.';
COMMENT ON COLUMN "blacklist"."listed_at" IS 'When wxsync first saw this user on the blacklist (or blacklisted them).';
COMMENT ON COLUMN "blacklist"."last_synced_at" IS 'When a sync last confirmed the user on the blacklist.';
COMMENT ON COLUMN "blacklist"."removed_at" IS 'When the user left the blacklist (sync found them gone, or an operator removed them), null while listed.';
COMMENT ON TABLE "user_summary" IS 'Daily new and cancelled followers per source, from datacube/getusersummary.';
COMMENT ON COLUMN "user_summary"."ref_date" IS 'Day the figures are for (Beijing calendar day).';
COMMENT ON COLUMN "user_summary"."user_source" IS 'Where the users came from: 0 other, 1 search, 17 card share, 30 QR code, ... (labels in user_source_labels).';
COMMENT ON COLUMN "user_summary"."new_user" IS 'Users who followed that day through that source.';
COMMENT ON COLUMN "user_summary"."cancel_user" IS 'Users who unfollowed that day (WeChat attributes them to a source too).';
COMMENT ON COLUMN "user_summary"."synced_at" IS 'When wxsync last fetched this row.';
COMMENT ON TABLE "user_cumulate" IS 'Total followers at the end of each day, from datacube/getusercumulate.';
COMMENT ON COLUMN "user_cumulate"."ref_date" IS 'Day the figure is for (Beijing calendar day).';
COMMENT ON COLUMN "user_cumulate"."cumulate_user" IS 'Followers at the end of that day, as WeChat counts them.';
COMMENT ON COLUMN "user_cumulate"."synced_at" IS 'When wxsync last fetched this row.';
COMMENT ON TABLE "user_source_labels" IS 'Names of WeChat''s numeric user_source codes (unknown codes are kept in user_summary and shown as their number).';
COMMENT ON COLUMN "user_source_labels"."user_source" IS 'WeChat''s user_source code.';
COMMENT ON COLUMN "user_source_labels"."label_zh" IS 'Chinese label as WeChat''s documentation names it.';
COMMENT ON COLUMN "user_source_labels"."label_en" IS 'English label.';
COMMENT ON TABLE "publisher_cps_daily" IS 'Daily CPS (commission) product statistics, from publisher/stat action=publisher_cps_general.';
COMMENT ON COLUMN "publisher_cps_daily"."date" IS 'Day the figures are for.';
COMMENT ON COLUMN "publisher_cps_daily"."exposure_count" IS 'Product card exposures.';
COMMENT ON COLUMN "publisher_cps_daily"."click_count" IS 'Product card clicks.';
COMMENT ON COLUMN "publisher_cps_daily"."click_rate" IS 'Click rate as WeChat reports it.';
COMMENT ON COLUMN "publisher_cps_daily"."order_count" IS 'Orders placed.';
COMMENT ON COLUMN "publisher_cps_daily"."order_rate" IS 'Order rate as WeChat reports it.';
COMMENT ON COLUMN "publisher_cps_daily"."total_fee" IS 'Order value in fen (1/100 yuan).';
COMMENT ON COLUMN "publisher_cps_daily"."total_commission" IS 'Commission in fen (1/100 yuan).';
COMMENT ON COLUMN "publisher_cps_daily"."synced_at" IS 'When wxsync last fetched this row.';
COMMENT ON TABLE "publisher_settlements" IS 'One settlement entry, from publisher/stat action=publisher_settlement.';
COMMENT ON COLUMN "publisher_settlements"."sett_no" IS 'Settlement number (sett_no), WeChat''s key for the entry.';
COMMENT ON COLUMN "publisher_settlements"."date" IS 'Settlement date.';
COMMENT ON COLUMN "publisher_settlements"."zone" IS 'Settlement period as WeChat words it, e.g. 2020年3月1日至15日.';
COMMENT ON COLUMN "publisher_settlements"."month" IS 'Settlement month, YYYYMM.';
COMMENT ON COLUMN "publisher_settlements"."order" IS 'Half of the month: 1 first, 2 second.';
COMMENT ON COLUMN "publisher_settlements"."sett_status" IS 'Settlement status code as WeChat reports it.';
COMMENT ON COLUMN "publisher_settlements"."settled_revenue" IS 'Settled revenue of this entry in fen (1/100 yuan).';
COMMENT ON COLUMN "publisher_settlements"."mail_send_cnt" IS 'How many times the settlement mail was sent.';
COMMENT ON COLUMN "publisher_settlements"."synced_at" IS 'When wxsync last fetched this row.';
COMMENT ON TABLE "publisher_settlement_slots" IS 'Revenue of one ad slot within one settlement entry.';
COMMENT ON COLUMN "publisher_settlement_slots"."sett_no" IS 'Settlement number the slot revenue belongs to.';
COMMENT ON COLUMN "publisher_settlement_slots"."slot_id" IS 'Ad slot id, e.g. SLOT_ID_WEAPP_BANNER.';
COMMENT ON COLUMN "publisher_settlement_slots"."slot_settled_revenue" IS 'Settled revenue of the slot in fen (1/100 yuan).';
COMMENT ON TABLE "publisher_settlement_reports" IS 'Report-level totals of a publisher_settlement query, as of the given fetch.';
COMMENT ON COLUMN "publisher_settlement_reports"."start_date" IS 'First day of the queried range.';
COMMENT ON COLUMN "publisher_settlement_reports"."end_date" IS 'Last day of the queried range.';
COMMENT ON COLUMN "publisher_settlement_reports"."body" IS 'Legal entity that settles (body).';
COMMENT ON COLUMN "publisher_settlement_reports"."revenue_all" IS 'Total revenue in fen (revenue_all).';
COMMENT ON COLUMN "publisher_settlement_reports"."settled_revenue_all" IS 'Total settled revenue in fen (settled_revenue_all).';
COMMENT ON COLUMN "publisher_settlement_reports"."penalty_all" IS 'Total penalties in fen (penalty_all).';
COMMENT ON COLUMN "publisher_settlement_reports"."total_num" IS 'Number of settlement entries WeChat reported for the range.';
COMMENT ON COLUMN "publisher_settlement_reports"."synced_at" IS 'When wxsync fetched these totals.';
COMMENT ON TABLE "sync_runs" IS 'Audit trail: one row per sync job run.';
COMMENT ON COLUMN "sync_runs"."id" IS 'Run id.';
COMMENT ON COLUMN "sync_runs"."job" IS 'Job name: followers, blacklist, datacube, publisher.';
COMMENT ON COLUMN "sync_runs"."params" IS 'Parameters of the run (date range...).';
COMMENT ON COLUMN "sync_runs"."trigger" IS 'What started it: schedule, cli, admin, demo...';
COMMENT ON COLUMN "sync_runs"."status" IS 'running, succeeded or failed.';
COMMENT ON COLUMN "sync_runs"."started_at" IS 'When the run started.';
COMMENT ON COLUMN "sync_runs"."finished_at" IS 'When the run ended (null while running).';
COMMENT ON COLUMN "sync_runs"."counts" IS 'Counters of the run: pages, profiles fetched, rows written, rows marked unsubscribed...';
COMMENT ON COLUMN "sync_runs"."error" IS 'Why the run failed (never contains secrets).';
COMMENT ON COLUMN "sync_runs"."checkpoint" IS 'Where a resumed run picks up: next_openid, batches done...';
COMMENT ON COLUMN "sync_runs"."attempts" IS 'How many times this run was (re)started by a worker.';

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

