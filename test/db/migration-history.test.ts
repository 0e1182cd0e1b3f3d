/**
 * The follower_history migration on a database that already holds followers: each gets one opening
 * period (opened_by migration, valid from its updated_at) and no follower row changes. The
 * migrations' SQL is run as written (a multi-statement query), on a database built up to the one
 * before; that Prisma itself applies every migration, on a fresh database and twice, is covered by
 * the test template and test/db/schema.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSql, testDatabaseUrl } from '../support/db.ts';

const HISTORY_MIGRATION = '20261201194300_warehouse_history_tags_lineage';
const dir = 'prisma/migrations';
const migrations = readdirSync(dir)
  .filter((name) => /^\d{14}_/.test(name))
  .sort();
const sqlOf = (name: string) => readFileSync(`${dir}/${name}/migration.sql`, 'utf8');

const name = `wxsync_t_${randomBytes(5).toString('hex')}`;
let client: pg.Client;
beforeAll(async () => {
  await adminSql(`CREATE DATABASE ${name}`);
  client = new pg.Client({ connectionString: testDatabaseUrl(name) });
  await client.connect();
  for (const m of migrations.filter((m) => m < HISTORY_MIGRATION)) await client.query(sqlOf(m));
});
afterAll(async () => {
  await client?.end();
  await adminSql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
});

describe(`migration ${HISTORY_MIGRATION}`, () => {
  it('gives every existing follower an opening history period and changes no follower', async () => {
    await client.query(`
      INSERT INTO followers (openid, subscribe, nickname, remark, tagid_list, subscribe_time, qr_scene, qr_scene_str,
                             unionid, language, updated_at, unsubscribed_at)
      VALUES ('oOld1', true, '老用户😀', 'vip', '{2,100}', '2024-05-01T00:00:00Z', 7, '', 'u1', 'zh_CN',
              '2025-06-01T00:00:00Z', NULL),
             ('oOld2', false, NULL, NULL, NULL, '2023-01-01T00:00:00Z', NULL, NULL, NULL, NULL,
              '2025-07-01T00:00:00Z', '2025-07-01T00:00:00Z')`);
    const before = (await client.query('SELECT * FROM followers ORDER BY openid')).rows;
    for (const m of migrations.filter((m) => m >= HISTORY_MIGRATION)) await client.query(sqlOf(m));
    const after = (await client.query('SELECT * FROM followers ORDER BY openid')).rows;
    // Later migrations rename last_synced_at (membership_confirmed_at, same values) and add
    // profile_fetched_at (backfilled from it): the stored facts are the same.
    expect(
      after.map(({ last_run_id, last_event_id, membership_confirmed_at, profile_fetched_at, ...rest }) => ({
        ...rest,
        last_synced_at: membership_confirmed_at,
      })),
    ).toEqual(before);
    const history = await client.query(
      `SELECT openid, valid_from, valid_to, subscribe, remark, tagid_list, qr_scene, unsubscribed_at, opened_by
       FROM follower_history ORDER BY openid`,
    );
    expect(history.rows).toEqual([
      {
        openid: 'oOld1',
        valid_from: new Date('2025-06-01T00:00:00Z'),
        valid_to: null,
        subscribe: true,
        remark: 'vip',
        tagid_list: [2, 100],
        qr_scene: '7',
        unsubscribed_at: null,
        opened_by: 'migration',
      },
      {
        openid: 'oOld2',
        valid_from: new Date('2025-07-01T00:00:00Z'),
        valid_to: null,
        subscribe: false,
        remark: null,
        tagid_list: [],
        qr_scene: null,
        unsubscribed_at: new Date('2025-07-01T00:00:00Z'),
        opened_by: 'migration',
      },
    ]);
    // From now on the triggers carry the history on: the next change closes the opening period.
    await client.query(
      `UPDATE followers SET remark = 'vvip', updated_at = '2026-01-01T00:00:00Z' WHERE openid = 'oOld1'`,
    );
    const periods = await client.query(
      `SELECT valid_from, valid_to, remark, opened_by, closed_by FROM follower_history WHERE openid = 'oOld1' ORDER BY valid_from`,
    );
    expect(periods.rows).toEqual([
      {
        valid_from: new Date('2025-06-01T00:00:00Z'),
        valid_to: new Date('2026-01-01T00:00:00Z'),
        remark: 'vip',
        opened_by: 'migration',
        closed_by: 'unknown',
      },
      {
        valid_from: new Date('2026-01-01T00:00:00Z'),
        valid_to: null,
        remark: 'vvip',
        opened_by: 'unknown',
        closed_by: null,
      },
    ]);
  });
});
