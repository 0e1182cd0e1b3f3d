-- CreateTable
CREATE TABLE "follower_listing_pages" (
    "run_id" BIGINT NOT NULL,
    "page" INTEGER NOT NULL,
    "listed_at" TIMESTAMPTZ(3) NOT NULL,
    "openids" TEXT[],

    CONSTRAINT "follower_listing_pages_pkey" PRIMARY KEY ("run_id","page")
);

-- Column and table comments new or reworded in the /// docs of schema.prisma.

COMMENT ON COLUMN "followers"."membership_confirmed_at" IS 'When wxsync last stored this user''s membership from an answer about them in particular: a user/info or batchget answer (a full sync fetches everyone), a subscribe/unsubscribe push, or a sync finding them gone. A listing sync confirms the followers it names as a set (follower_listing_pages) without rewriting their rows, so for most followers this is the last full sync: follower_membership.membership_confirmed_at gives the last confirmation of either kind. Not indexed: the full sync rewrites it for every follower.';
COMMENT ON COLUMN "followers"."profile_fetched_at" IS 'When the profile fields (nickname, language, tags, remark...) were last fetched from WeChat (user/info or batchget). A listing sync confirms known followers without fetching them again, so between weekly full syncs this is older than the last confirmation (follower_membership) for most rows. Null when the user is known only from an unsubscribe push.';
COMMENT ON COLUMN "followers"."last_run_id" IS 'Lineage: sync_runs.id of the sync run that last wrote this row (null: no sync has yet). A listing sync that only confirmed the row leaves it (follower_listing_pages names what each listing saw). /wx events and admin actions leave it as it was (follower_history names every writer). No foreign key: a per-row check would slow the bulk upsert.';
COMMENT ON TABLE "follower_listing_pages" IS 'The openids each user/get page of a listing follower sync named, one row per page. A listing confirms the followers it names as a set, here, instead of rewriting every followers row each night (1M rows: seconds of writes and follower_history trigger work): the subscribed followers no page of the run names, and that nothing confirmed since the run started, are flagged as gone. Only the latest listing''s pages are kept (a completed listing deletes the older ones), so "was this user listed last night" stays answerable: `SELECT listed_at FROM follower_listing_pages WHERE ''o...'' = ANY (openids)`.';
COMMENT ON COLUMN "follower_listing_pages"."run_id" IS 'sync_runs.id of the listing run (no foreign key: sync_runs stays free to be emptied).';
COMMENT ON COLUMN "follower_listing_pages"."page" IS 'The page''s place in the listing, from 0 (WeChat''s first page).';
COMMENT ON COLUMN "follower_listing_pages"."listed_at" IS 'When WeChat returned the page (a resumed run fetches the page it was on again).';
COMMENT ON COLUMN "follower_listing_pages"."openids" IS 'The openids on the page, in WeChat''s order (up to 10,000).';

-- What prisma/derived.sql gained since the last migration.

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

