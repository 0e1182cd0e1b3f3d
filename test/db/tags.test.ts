import { describe, expect, it } from 'vitest';
import { writeTags } from '../../src/db/tags.ts';
import { freshDatabase } from '../support/db.ts';
import { perFile } from '../support/per-file.ts';

const t = perFile(freshDatabase);

describe('writeTags', () => {
  it('adds, renames, removes and restores, keeping first_seen_at', async () => {
    const t1 = new Date('2026-03-01T00:00:00Z');
    const t2 = new Date('2026-03-02T00:00:00Z');
    const t3 = new Date('2026-03-03T00:00:00Z');
    const star = { id: 2, name: '星标组', count: 5 };
    expect(await writeTags(t.db, [star, { id: 100, name: '会员', count: 1 }], t1, 1)).toEqual({
      added: 2,
      renamed: 0,
      restored: 0,
      listed: 2,
      removed: 0,
    });
    expect(await writeTags(t.db, [{ ...star, name: '星标组', count: 6 }], t2, 2)).toEqual({
      added: 0,
      renamed: 0,
      restored: 0,
      listed: 1,
      removed: 1,
    });
    expect(await writeTags(t.db, [star, { id: 100, name: '黄金会员', count: 0 }], t3, 3)).toEqual({
      added: 0,
      renamed: 1,
      restored: 1,
      listed: 2,
      removed: 0,
    });
    const rows = await t.db.tag.findMany({ orderBy: { id: 'asc' } });
    expect(
      rows.map((r) => [r.id, r.name, r.count, r.firstSeenAt, r.lastSeenAt, r.removedAt, r.lastRunId]),
    ).toEqual([
      [2, '星标组', 5, t1, t3, null, 3n],
      [100, '黄金会员', 0, t1, t3, null, 3n],
    ]);
  });
});
