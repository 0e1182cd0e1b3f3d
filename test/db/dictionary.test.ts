/**
 * The data dictionary: docs/warehouse.md is exactly what `wxsync db docs` prints for a database the
 * migrations built, every view has an example query, and every example runs.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { EXAMPLES, readDictionary, renderDictionary } from '../../src/db/dictionary.ts';
import { freshDatabase } from '../support/db.ts';
import { perFile } from '../support/per-file.ts';

const t = perFile(freshDatabase);

describe('data dictionary', () => {
  it('docs/warehouse.md matches the migrated schema (regenerate: npm run db:docs on a fresh database)', async () => {
    const generated = renderDictionary(await readDictionary(t.db));
    expect(generated).toBe(readFileSync('docs/warehouse.md', 'utf8'));
  });

  it('lists every table, view and function with its comments', async () => {
    const d = await readDictionary(t.db);
    const names = d.relations.map((r) => r.name);
    for (const name of ['followers', 'follower_history', 'tags', 'follower_tags', 'cohort_retention']) {
      expect(names).toContain(name);
    }
    expect(d.functions.map((f) => f.name)).toEqual(['follower_history_record', 'followers_on']);
    expect(d.relations.filter((r) => !r.comment).map((r) => r.name)).toEqual([]);
    expect(
      d.relations.flatMap((r) => r.columns.filter((c) => !c.comment).map((c) => `${r.name}.${c.name}`)),
    ).toEqual([]);
  });

  it('gives every view an example query, and every example runs', async () => {
    const d = await readDictionary(t.db);
    const views = d.relations.filter((r) => r.kind === 'view').map((r) => r.name);
    expect(views.filter((v) => !EXAMPLES[v])).toEqual([]);
    for (const [name, sql] of Object.entries(EXAMPLES)) {
      await expect(t.db.$pool.query(sql), name).resolves.toHaveProperty('rows');
    }
  });

  it('is what `wxsync db docs` prints', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['bin/wxsync.mjs', 'db', 'docs'], {
      env: { ...process.env, DATABASE_URL: t.url, LOG_LEVEL: 'silent' },
      maxBuffer: 10 * 1024 * 1024,
    });
    expect(stdout).toBe(readFileSync('docs/warehouse.md', 'utf8'));
  });
});
