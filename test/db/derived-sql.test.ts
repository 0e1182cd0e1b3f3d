import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as derivedSql from '../../scripts/derived-sql.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';

describe('derived.sql as a migration carries it', () => {
  it('rewrites $$ bodies as E strings without a literal semicolon', () => {
    const sql =
      "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  RAISE NOTICE 'a\\b';\n  RETURN NULL;\nEND\n$$;";
    const out = derivedSql.withoutDollarQuotes(sql);
    expect(out).toBe(
      "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS E'\nBEGIN\n  RAISE NOTICE ''a\\\\b''\\073\n  RETURN NULL\\073\nEND\n';",
    );
    expect(out.slice(0, -1)).not.toContain(';');
    expect(derivedSql.escapeBody('x')).toBe("E'x'");
  });

  it('drops views and plain functions, not CREATE OR REPLACE ones', () => {
    const sql = [
      'CREATE VIEW v AS SELECT 1;',
      'CREATE FUNCTION followers_on(day date) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;',
      'CREATE OR REPLACE FUNCTION trig() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;',
    ].join('\n');
    expect(derivedSql.derivedDrops(sql)).toEqual([
      'DROP VIEW IF EXISTS "v" CASCADE;',
      'DROP FUNCTION IF EXISTS "followers_on"(day date) CASCADE;',
    ]);
  });
});

describe('statements of derived.sql', () => {
  it('splits on ; outside $$ bodies, string literals and comments, keeping each comment above its statement', () => {
    const sql = [
      '-- a view; with a note',
      'CREATE VIEW v AS SELECT 1;',
      "COMMENT ON VIEW v IS 'one; two';",
      'CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;',
      '-- trailing comment',
    ].join('\n');
    expect(derivedSql.derivedStatements(sql)).toEqual([
      '-- a view; with a note\nCREATE VIEW v AS SELECT 1;',
      "COMMENT ON VIEW v IS 'one; two';",
      'CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;',
    ]);
  });

  it('tells a migration to carry nothing, only the added statements, or the whole file', () => {
    const base = "-- v\nCREATE VIEW v AS SELECT 1;\nCOMMENT ON VIEW v IS 'v';\n";
    const applied = derivedSql.statementDigests(base);
    expect(applied).toHaveLength(2);
    const change = (now: string) => derivedSql.derivedChange(applied, now);
    expect(change(base.replace('-- v', '-- reworded'))).toEqual({ kind: 'unchanged' });
    expect(change(`${base}CREATE VIEW w AS SELECT 2;\n`)).toEqual({
      kind: 'added',
      statements: ['CREATE VIEW w AS SELECT 2;'],
    });
    expect(change(base.replace('SELECT 1', 'SELECT 3'))).toEqual({ kind: 'changed' });
    expect(change('CREATE VIEW v AS SELECT 1;')).toEqual({ kind: 'changed' });
  });

  it('refuses a ; Prisma would split a migration on', () => {
    expect(() => derivedSql.assertSplittable("COMMENT ON VIEW v IS 'a; b';")).toThrow(/Prisma splits/);
    expect(() => derivedSql.assertSplittable('-- why; because\nCREATE VIEW v AS SELECT 1;')).toThrow(
      /Prisma splits/,
    );
    expect(derivedSql.assertSplittable('CREATE VIEW v AS SELECT 1;')).toBe('CREATE VIEW v AS SELECT 1;');
    for (const dir of migrationDirs()) {
      expect(() =>
        derivedSql.assertSplittable(readFileSync(`prisma/migrations/${dir}/migration.sql`, 'utf8')),
      ).not.toThrow();
    }
  });

  it('has a migration for every change of schema.prisma and derived.sql (npm run db:new-migration)', () => {
    expect(readFileSync('prisma/migrations/schema.snapshot.prisma', 'utf8')).toBe(
      readFileSync('prisma/schema.prisma', 'utf8'),
    );
    const applied = JSON.parse(readFileSync('prisma/migrations/derived.applied.json', 'utf8'));
    expect(applied.statements).toEqual(
      derivedSql.statementDigests(readFileSync('prisma/derived.sql', 'utf8')),
    );
  });
});

describe('the migrations, applied', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await freshDatabase();
  });
  afterAll(async () => t?.drop());

  /** Every view, function, trigger and derived comment, as the database defines them. */
  const definitions = async (client: pg.Client) =>
    (
      await client.query<{ kind: string; name: string; definition: string }>(`
        SELECT 'view' AS kind, c.relname AS name, pg_get_viewdef(c.oid) || coalesce(obj_description(c.oid, 'pg_class'), '') AS definition
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'v'
        UNION ALL
        SELECT 'view column', c.relname || '.' || a.attname, coalesce(col_description(c.oid, a.attnum), '')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid
        WHERE n.nspname = 'public' AND c.relkind = 'v' AND a.attnum > 0
        UNION ALL
        SELECT 'function', p.proname, pg_get_functiondef(p.oid) || coalesce(obj_description(p.oid, 'pg_proc'), '')
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
        UNION ALL
        SELECT 'trigger', t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t WHERE NOT t.tgisinternal
        UNION ALL
        SELECT 'label', user_source::text, label_zh || '/' || label_en FROM user_source_labels
        ORDER BY 1, 2`)
    ).rows;

  it('leave every derived object exactly as prisma/derived.sql defines it', async () => {
    const client = new pg.Client({ connectionString: t.url });
    await client.connect();
    try {
      const migrated = await definitions(client);
      expect(migrated.filter((d) => d.kind === 'view').length).toBeGreaterThan(10);
      const derived = readFileSync('prisma/derived.sql', 'utf8');
      await client.query('BEGIN');
      await client.query([...derivedSql.derivedDrops(derived), derived].join('\n'));
      const fromFile = await definitions(client);
      await client.query('ROLLBACK');
      expect(migrated).toEqual(fromFile);
    } finally {
      await client.end();
    }
  });
});

function migrationDirs(): string[] {
  return readdirSync('prisma/migrations', { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name);
}
