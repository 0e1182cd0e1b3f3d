import { describe, expect, it } from 'vitest';
import { migrateDeploy } from '../../src/db/migrate.ts';
import { freshDatabase } from '../support/db.ts';
import { perFile } from '../support/per-file.ts';

const t = perFile(freshDatabase);

describe('warehouse schema', () => {
  it('stores and reads a follower with Chinese text, emoji and tags', async () => {
    await t.db.follower.create({
      data: {
        openid: 'oAbc_123-xyz',
        subscribe: true,
        nickname: '小明😀',
        city: '广州',
        tagidList: [128, 2],
        qrScene: 4_294_967_295n,
        subscribeTime: new Date('2024-01-02T03:04:05Z'),
      },
    });
    const row = await t.db.follower.findUniqueOrThrow({ where: { openid: 'oAbc_123-xyz' } });
    expect(row.nickname).toBe('小明😀');
    expect(row.tagidList).toEqual([128, 2]);
    expect(row.qrScene).toBe(4_294_967_295n);
    expect(row.firstSeenAt).toBeInstanceOf(Date);
  });

  it('keeps the unique keys', async () => {
    await expect(
      t.db.follower.create({ data: { openid: 'oAbc_123-xyz', subscribe: false } }),
    ).rejects.toThrow();
    const event = {
      openid: 'o1',
      event: 'subscribe',
      msgType: 'event',
      createTime: new Date('2024-01-02T03:04:05Z'),
      payload: { Event: 'subscribe' },
    };
    await t.db.followerEvent.create({ data: event });
    await expect(t.db.followerEvent.create({ data: event })).rejects.toThrow();
    await t.db.userSummary.create({
      data: { refDate: new Date('2024-01-01'), userSource: 0, newUser: 1, cancelUser: 0 },
    });
    await expect(
      t.db.userSummary.create({
        data: { refDate: new Date('2024-01-01'), userSource: 0, newUser: 2, cancelUser: 0 },
      }),
    ).rejects.toThrow();
  });

  it('comments every table, view and function, and every column of each table and view', async () => {
    const missing = await t.db.$queryRaw<{ table_name: string; column_name: string }[]>`
      SELECT c.table_name, c.column_name
      FROM information_schema.columns c
      JOIN pg_class k ON k.relname = c.table_name AND k.relkind IN ('r', 'v')
      JOIN pg_namespace n ON n.oid = k.relnamespace AND n.nspname = c.table_schema
      WHERE c.table_schema = 'public' AND c.table_name <> '_prisma_migrations'
        AND col_description(k.oid, c.ordinal_position) IS NULL`;
    expect(missing).toEqual([]);
    const undocumented = await t.db.$queryRaw<{ name: string }[]>`
      SELECT k.relname AS name FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace
      WHERE n.nspname = 'public' AND k.relkind IN ('r', 'v') AND k.relname <> '_prisma_migrations'
        AND obj_description(k.oid, 'pg_class') IS NULL
      UNION ALL
      SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'public' AND obj_description(p.oid, 'pg_proc') IS NULL`;
    expect(undocumented).toEqual([]);
  });

  it('answers the report views', async () => {
    await t.db.userCumulate.create({ data: { refDate: new Date('2024-01-01'), cumulateUser: 10 } });
    const rows = await t.db.$queryRaw<{ ref_date: Date; net_growth: number; cumulate_user: number }[]>`
      SELECT ref_date, net_growth, cumulate_user FROM daily_net_growth`;
    expect(rows).toEqual([{ ref_date: new Date('2024-01-01'), net_growth: 1, cumulate_user: 10 }]);
    const bySource = await t.db.$queryRaw<
      { source_label_en: string }[]
    >`SELECT source_label_en FROM daily_growth_by_source`;
    expect(bySource[0]?.source_label_en).toBe('other');
  });

  it('applies migrations twice as a no-op', async () => {
    const applied = () => t.db.$queryRaw<{ name: string; finished: Date }[]>`
      SELECT migration_name AS name, finished_at AS finished FROM _prisma_migrations ORDER BY 1`;
    const before = await applied();
    expect(before.length).toBeGreaterThan(0);
    await migrateDeploy(t.url, { quiet: true });
    expect(await applied()).toEqual(before);
  });
});
