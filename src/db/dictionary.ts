/**
 * The data dictionary: every table, view and function of the public schema with its columns and
 * comments, read from the live catalogue (the comments come from the /// docs of schema.prisma and
 * from prisma/derived.sql), printed as Markdown by `wxsync db docs`. docs/warehouse.md is this
 * output for a freshly migrated database; a test fails when the two drift apart.
 */
import type { Db } from './client.ts';

export interface DictionaryColumn {
  name: string;
  type: string;
  nullable: boolean;
  comment: string | null;
}

export interface DictionaryRelation {
  name: string;
  kind: 'table' | 'view';
  comment: string | null;
  columns: DictionaryColumn[];
}

export interface DictionaryFunction {
  name: string;
  arguments: string;
  result: string;
  comment: string | null;
}

export interface Dictionary {
  relations: DictionaryRelation[];
  functions: DictionaryFunction[];
}

/** Reads the public schema's tables, views and functions (Prisma's bookkeeping table left out). */
export async function readDictionary(db: Db): Promise<Dictionary> {
  const columns = await db.$queryRaw<
    {
      relation: string;
      relkind: string;
      relation_comment: string | null;
      name: string;
      type: string;
      not_null: boolean;
      comment: string | null;
    }[]
  >`
    SELECT c.relname AS relation, c.relkind::text AS relkind, obj_description(c.oid, 'pg_class') AS relation_comment,
           a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
           col_description(c.oid, a.attnum) AS comment
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v') AND c.relname <> '_prisma_migrations'
    ORDER BY c.relname, a.attnum`;
  const relations = new Map<string, DictionaryRelation>();
  for (const row of columns) {
    let relation = relations.get(row.relation);
    if (!relation) {
      relation = {
        name: row.relation,
        kind: row.relkind === 'v' ? 'view' : 'table',
        comment: row.relation_comment,
        columns: [],
      };
      relations.set(row.relation, relation);
    }
    relation.columns.push({
      name: row.name,
      type: row.type,
      nullable: !row.not_null,
      comment: row.comment,
    });
  }
  const functions = await db.$queryRaw<DictionaryFunction[]>`
    SELECT p.proname AS name, pg_get_function_arguments(p.oid) AS arguments,
           pg_get_function_result(p.oid) AS result, obj_description(p.oid, 'pg_proc') AS comment
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'public'
    ORDER BY p.proname, pg_get_function_arguments(p.oid)`;
  return { relations: [...relations.values()], functions };
}

/**
 * One example query per view and set-returning function, printed under it. Kept here, beside the
 * renderer, and checked by the tests: every view has one and every example runs.
 */
export const EXAMPLES: Readonly<Record<string, string>> = {
  daily_net_growth: `SELECT ref_date, new_user, cancel_user, net_growth, cumulate_user
FROM daily_net_growth ORDER BY ref_date DESC LIMIT 30`,
  daily_growth_by_source: `SELECT source_label_zh, source_label_en, sum(net_growth) AS net
FROM daily_growth_by_source WHERE ref_date >= date_trunc('month', current_date)
GROUP BY 1, 2 ORDER BY net DESC`,
  daily_churn: 'SELECT ref_date, cancel_user, churn_rate FROM daily_churn ORDER BY ref_date DESC LIMIT 30',
  follower_count_vs_cumulate: `SELECT ref_date, cumulate_user, stored_followers, cumulate_user - stored_followers AS gap
FROM follower_count_vs_cumulate ORDER BY ref_date DESC LIMIT 14`,
  follower_status: 'SELECT status, followers FROM follower_status',
  follower_membership: `-- Followers no sync or push has confirmed in two days, and how stale their profile is
SELECT openid, membership_confirmed_at, profile_fetched_at FROM follower_membership
WHERE subscribe AND membership_confirmed_at < now() - interval '2 days' ORDER BY membership_confirmed_at LIMIT 50`,
  blacklist_current: 'SELECT count(*) AS blacklisted FROM blacklist_current',
  blacklist_size_daily: 'SELECT day, blacklisted FROM blacklist_size_daily ORDER BY day DESC LIMIT 30',
  sync_runs_latest: 'SELECT job, status, started_at, duration, error FROM sync_runs_latest',
  follower_tags: `-- Followers carrying the tag 星标组 now
SELECT openid FROM follower_tags WHERE tag_name = '星标组' AND subscribe`,
  tag_distribution: `SELECT tag_id, tag_name, followers, wechat_count, followers - wechat_count AS gap
FROM tag_distribution ORDER BY followers DESC`,
  qr_scene_performance: `-- Which QR campaigns brought followers who stayed
SELECT scene, followers_gained, still_following,
       round(100.0 * still_following / nullif(followers_gained, 0), 1) AS stayed_pct,
       left_within_7_days, scan_events
FROM qr_scene_performance ORDER BY followers_gained DESC LIMIT 20`,
  cohort_retention: `-- What share of each month's new followers still follow, and after 30/90 days
SELECT cohort_month, joined, retention, retention_30d, retention_90d
FROM cohort_retention ORDER BY cohort_month DESC LIMIT 12`,
  returning_followers: `-- Who came back this month, and after how long
SELECT openid, left_at, returned_at, away FROM returning_followers
WHERE returned_at >= date_trunc('month', now()) ORDER BY returned_at DESC`,
  hourly_follow_events: `-- Follows in the last 24 hours (datacube has them tomorrow)
SELECT hour, subscribes, unsubscribes, net FROM hourly_follow_events
WHERE hour >= (now() AT TIME ZONE 'Asia/Shanghai') - interval '24 hours' ORDER BY hour`,
  daily_events_vs_datacube: `-- Days where /wx and WeChat's own count disagree
SELECT day, subscribe_events, new_user, new_user_gap, unsubscribe_events, cancel_user, cancel_user_gap
FROM daily_events_vs_datacube WHERE new_user_gap <> 0 OR cancel_user_gap <> 0 ORDER BY day DESC`,
  followers_on: `-- Followers carrying tag 2 (星标组) at the end of 1 March 2026, Beijing time
SELECT count(*) FROM followers_on('2026-03-01') WHERE 2 = ANY(tagid_list)`,
};

/** Markdown text of a comment: pipes and angle brackets escaped (qrscene_<scene> is no HTML tag), one line. */
const cell = (text: string | null) =>
  (text ?? '').replaceAll('|', '\\|').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('\n', ' ');

export function renderDictionary(d: Dictionary): string {
  const tables = d.relations.filter((r) => r.kind === 'table');
  const views = d.relations.filter((r) => r.kind === 'view');
  const out: string[] = [
    '# wxsync warehouse: data dictionary',
    '',
    'Generated by `wxsync db docs` from the catalogue of a freshly migrated database (the comments',
    'come from the `///` docs of `prisma/schema.prisma` and from `prisma/derived.sql`). Do not edit by',
    'hand: run `npm run db:docs` (see README, Development). Times are `timestamptz`; "Beijing day" means',
    'the Asia/Shanghai calendar day.',
    '',
    `${tables.length} tables, ${views.length} views, ${d.functions.length} functions.`,
    '',
  ];
  const index = (title: string, names: string[]) => {
    out.push(`**${title}:** ${names.map((n) => `[\`${n}\`](#${n})`).join(' · ')}`, '');
  };
  index(
    'Tables',
    tables.map((t) => t.name),
  );
  index(
    'Views',
    views.map((v) => v.name),
  );
  index('Functions', [...new Set(d.functions.map((f) => f.name))]);

  const relation = (r: DictionaryRelation) => {
    out.push(`### ${r.name}`, '', cell(r.comment) || '(no comment)', '');
    out.push('| column | type | null | description |', '| --- | --- | --- | --- |');
    for (const c of r.columns) {
      out.push(`| \`${c.name}\` | ${cell(c.type)} | ${c.nullable ? 'yes' : 'no'} | ${cell(c.comment)} |`);
    }
    out.push('');
    const example = EXAMPLES[r.name];
    if (example) out.push('Example:', '', '```sql', example, '```', '');
  };
  out.push('## Tables', '');
  for (const t of tables) relation(t);
  out.push('## Views', '');
  for (const v of views) relation(v);
  out.push('## Functions', '');
  for (const f of d.functions) {
    out.push(`### ${f.name}`, '', `\`${f.name}(${f.arguments})\` returns \`${f.result}\``, '');
    out.push(cell(f.comment) || '(no comment)', '');
    const example = EXAMPLES[f.name];
    if (example) out.push('Example:', '', '```sql', example, '```', '');
  }
  return `${out.join('\n').trimEnd()}\n`;
}
