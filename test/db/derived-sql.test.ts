import { describe, expect, it } from 'vitest';
import { derivedDrops, escapeBody, withoutDollarQuotes } from '../../scripts/derived-sql.ts';

describe('derived.sql as a migration carries it', () => {
  it('rewrites $$ bodies as E strings without a literal semicolon', () => {
    const sql =
      "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  RAISE NOTICE 'a\\b';\n  RETURN NULL;\nEND\n$$;";
    const out = withoutDollarQuotes(sql);
    expect(out).toBe(
      "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS E'\nBEGIN\n  RAISE NOTICE ''a\\\\b''\\073\n  RETURN NULL\\073\nEND\n';",
    );
    expect(out.slice(0, -1)).not.toContain(';');
    expect(escapeBody('x')).toBe("E'x'");
  });

  it('drops views and plain functions, not CREATE OR REPLACE ones', () => {
    const sql = [
      'CREATE VIEW v AS SELECT 1;',
      'CREATE FUNCTION followers_on(day date) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;',
      'CREATE OR REPLACE FUNCTION trig() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;',
    ].join('\n');
    expect(derivedDrops(sql)).toEqual([
      'DROP VIEW IF EXISTS "v" CASCADE;',
      'DROP FUNCTION IF EXISTS "followers_on"(day date) CASCADE;',
    ]);
  });
});
