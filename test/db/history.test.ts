/**
 * follower_history as the triggers on followers write it, driven through the src/db writers with
 * chosen times (the jobs' own scripted run is test/jobs/warehouse.test.ts).
 */
import { describe, expect, it } from 'vitest';
import {
  confirmListed,
  markUnlistedFollowersUnsubscribed,
  markUnsubscribed,
  upsertFollowers,
} from '../../src/db/followers.ts';
import type { UserInfo } from '../../src/wechat/schemas.ts';
import { freshDatabase } from '../support/db.ts';
import { perFile } from '../support/per-file.ts';

const t = perFile(freshDatabase);

const at = (iso: string) => new Date(iso);
const unix = (iso: string) => Date.parse(iso) / 1000;
const profile = (openid: string, patch: Partial<UserInfo> = {}): UserInfo => ({
  subscribe: 1,
  openid,
  nickname: '',
  sex: 0,
  language: 'zh_CN',
  subscribe_time: unix('2026-01-10T02:00:00Z'),
  remark: '',
  groupid: 0,
  tagid_list: [2],
  subscribe_scene: 'ADD_SCENE_SEARCH',
  qr_scene: 0,
  qr_scene_str: '',
  ...patch,
});
const sync = (runId: number) => ({ kind: 'sync', runId }) as const;

interface HistoryRow {
  openid: string;
  valid_from: Date;
  valid_to: Date | null;
  subscribe: boolean;
  remark: string | null;
  tagid_list: number[];
  opened_by: string;
  opened_by_run_id: bigint | null;
  opened_by_event_id: bigint | null;
  closed_by: string | null;
}
const history = (openid: string) => t.db.$queryRaw<HistoryRow[]>`
  SELECT openid, valid_from, valid_to, subscribe, remark, tagid_list, opened_by, opened_by_run_id,
         opened_by_event_id, closed_by
  FROM follower_history WHERE openid = ${openid} ORDER BY valid_from, id`;
const historyCount = async () =>
  Number((await t.db.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM follower_history`)[0]?.n);

describe('follower_history', () => {
  it('opens one period per new follower and none for a sync that finds nothing new', async () => {
    await upsertFollowers(t.db, [profile('hA'), profile('hB', { remark: 'vip' })], {
      syncedAt: at('2026-02-01T00:00:00Z'),
      writer: sync(1),
    });
    expect(await historyCount()).toBe(2);
    const again = await upsertFollowers(t.db, [profile('hA'), profile('hB', { remark: 'vip' })], {
      syncedAt: at('2026-02-02T00:00:00Z'),
      writer: sync(2),
    });
    expect(again).toEqual({ inserted: 0, changed: 0, unchanged: 2 });
    await confirmListed(t.db, ['hA'], at('2026-02-02T00:00:00Z'), sync(2));
    expect(await historyCount()).toBe(2);
    const [row] = await history('hA');
    expect(row).toMatchObject({
      valid_from: at('2026-02-01T00:00:00Z'),
      valid_to: null,
      subscribe: true,
      tagid_list: [2],
      opened_by: 'sync',
      opened_by_run_id: 1n,
    });
    // Lineage: the confirming run is the last writer of the row, though nothing changed.
    const stored = await t.db.follower.findUniqueOrThrow({ where: { openid: 'hA' } });
    expect(stored.lastRunId).toBe(2n);
  });

  it('an untracked change (nickname) moves updated_at but writes no period', async () => {
    await upsertFollowers(t.db, [profile('hA', { nickname: '新名字' })], {
      syncedAt: at('2026-02-03T00:00:00Z'),
      writer: sync(3),
    });
    expect((await history('hA')).length).toBe(1);
  });

  it('closes and opens periods back to back: tag edit, unsubscribe push, re-follow push, sync flag', async () => {
    await upsertFollowers(t.db, [profile('hA', { nickname: '新名字', tagid_list: [2, 100] })], {
      syncedAt: at('2026-02-05T00:00:00Z'),
      writer: sync(4),
    });
    await markUnsubscribed(t.db, 'hA', at('2026-02-10T08:00:00Z'), { kind: 'event', eventId: 41 });
    await upsertFollowers(
      t.db,
      [profile('hA', { nickname: '新名字', tagid_list: [], subscribe_time: unix('2026-02-20T09:00:00Z') })],
      {
        syncedAt: at('2026-02-20T09:00:03Z'),
        changedAt: at('2026-02-20T09:00:00Z'),
        writer: { kind: 'event', eventId: 42 },
      },
    );
    // hB is not listed by the sync of run 5: flagged as gone.
    await upsertFollowers(
      t.db,
      [profile('hA', { nickname: '新名字', tagid_list: [], subscribe_time: unix('2026-02-20T09:00:00Z') })],
      { syncedAt: at('2026-03-01T00:00:00Z'), writer: sync(5) },
    );
    expect(
      await markUnlistedFollowersUnsubscribed(
        t.db,
        { listedSince: at('2026-03-01T00:00:00Z') },
        at('2026-03-01T00:10:00Z'),
        sync(5),
      ),
    ).toBe(1);

    const a = await history('hA');
    expect(a.map((r) => [r.valid_from.toISOString(), r.valid_to?.toISOString() ?? null])).toEqual([
      ['2026-02-01T00:00:00.000Z', '2026-02-05T00:00:00.000Z'],
      ['2026-02-05T00:00:00.000Z', '2026-02-10T08:00:00.000Z'],
      ['2026-02-10T08:00:00.000Z', '2026-02-20T09:00:00.000Z'],
      ['2026-02-20T09:00:00.000Z', null],
    ]);
    expect(a.map((r) => [r.subscribe, r.tagid_list, r.opened_by, r.closed_by])).toEqual([
      [true, [2], 'sync', 'sync'],
      [true, [2, 100], 'sync', 'event'],
      [false, [2, 100], 'event', 'event'],
      [true, [], 'event', null],
    ]);
    expect(a.map((r) => r.opened_by_event_id)).toEqual([null, null, 41n, 42n]);
    const b = await history('hB');
    expect(b.map((r) => [r.valid_from.toISOString(), r.subscribe, r.opened_by, r.opened_by_run_id])).toEqual([
      ['2026-02-01T00:00:00.000Z', true, 'sync', 1n],
      ['2026-03-01T00:10:00.000Z', false, 'sync', 5n],
    ]);
  });

  it('followers_on counts the followers at the end of a Beijing day', async () => {
    const on = async (day: string) =>
      Number(
        (await t.db.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM followers_on(${day}::date)`)[0]?.n,
      );
    expect(await on('2026-01-31')).toBe(0); // before first sight
    expect(await on('2026-02-01')).toBe(2);
    expect(await on('2026-02-10')).toBe(1); // hA left at 16:00 Beijing time on the 10th
    expect(await on('2026-02-20')).toBe(2); // back at 17:00 Beijing
    // hB flagged at 08:10 Beijing on 1 March: gone by the end of that day.
    expect(await on('2026-03-01')).toBe(1);
    const tagged = await t.db.$queryRaw<{ openid: string; tagid_list: number[] }[]>`
      SELECT openid, tagid_list FROM followers_on('2026-02-07') WHERE 100 = ANY(tagid_list)`;
    expect(tagged).toEqual([{ openid: 'hA', tagid_list: [2, 100] }]);
  });

  it('a write by hand-written SQL is recorded too, as unknown', async () => {
    await t.db.$executeRaw`UPDATE followers SET remark = 'by hand' WHERE openid = 'hB'`;
    const b = await history('hB');
    expect(b.length).toBe(3);
    expect(b[2]).toMatchObject({ remark: 'by hand', opened_by: 'unknown' });
    expect(b[1]?.closed_by).toBe('unknown');
  });

  it('a deleted followers row closes its period; stored again, it opens a new one', async () => {
    await upsertFollowers(t.db, [profile('hDel')], { syncedAt: at('2026-04-01T00:00:00Z'), writer: sync(7) });
    await t.db.$executeRaw`DELETE FROM followers WHERE openid = 'hDel'`;
    await upsertFollowers(t.db, [profile('hDel')], { syncedAt: at('2099-01-01T00:00:00Z'), writer: sync(8) });
    const rows = await history('hDel');
    expect(rows.map((r) => [r.opened_by_run_id, r.closed_by, r.valid_to === null])).toEqual([
      [7n, 'unknown', false],
      [8n, null, true],
    ]);
  });

  it('TRUNCATE followers ends every current period; a fresh mirror opens new ones', async () => {
    const open = async () =>
      Number(
        (
          await t.db.$queryRaw<
            { n: bigint }[]
          >`SELECT count(*) AS n FROM follower_history WHERE valid_to IS NULL`
        )[0]?.n,
      );
    const stored = await t.db.follower.count();
    expect(await open()).toBe(stored);
    await t.db.$executeRaw`TRUNCATE followers`;
    expect(await open()).toBe(0);
    await upsertFollowers(t.db, [profile('hA')], { syncedAt: at('2099-02-01T00:00:00Z'), writer: sync(9) });
    expect(await open()).toBe(1);
  });

  it('never leaves two current periods for one follower', async () => {
    const rows = await t.db.$queryRaw<{ openid: string; n: bigint }[]>`
      SELECT openid, count(*) AS n FROM follower_history WHERE valid_to IS NULL GROUP BY openid HAVING count(*) > 1`;
    expect(rows).toEqual([]);
    // hDel's row was deleted for a while: the only gap there may be.
    const gaps = await t.db.$queryRaw<{ n: bigint }[]>`
      SELECT count(*) AS n FROM (
        SELECT valid_to, lead(valid_from) OVER (PARTITION BY openid ORDER BY valid_from, id) AS next_from
        FROM follower_history WHERE openid <> 'hDel' AND valid_from < '2099-01-01') p
      WHERE p.next_from IS NOT NULL AND p.next_from IS DISTINCT FROM p.valid_to`;
    expect(gaps[0]?.n).toBe(0n);
  });
});
