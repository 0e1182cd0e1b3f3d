/**
 * prisma/derived.sql (views, functions, triggers, reference data) as a migration re-applies it.
 *
 * Prisma's JS schema engine splits a migration script on every `;`, even inside `$$` function
 * bodies and string literals (verified: a plpgsql body fails with "unterminated dollar-quoted
 * string"). derived.sql stays readable with ordinary `$$` bodies; the migration gets each body as
 * an escape string instead, E'...', with `;` written as its octal escape \073, so no `;` is left
 * for the engine to split on while PostgreSQL still reads the same function text.
 */

import { createHash } from 'node:crypto';

/** A `$$ ... $$` body as an E'' literal PostgreSQL reads back to the same text, without a literal `;`. */
export function escapeBody(body: string): string {
  return `E'${body.replaceAll('\\', '\\\\').replaceAll("'", "''").replaceAll(';', '\\073')}'`;
}

/** Every `$$...$$` body of `sql` rewritten with escapeBody. */
export function withoutDollarQuotes(sql: string): string {
  return sql.replace(/\$\$([\s\S]*?)\$\$/g, (_, body: string) => escapeBody(body));
}

/**
 * What dropping the derived objects takes before the schema diff runs: views are dropped (a column
 * change never blocks on them), functions created with plain CREATE FUNCTION too (their result type
 * may change). CREATE OR REPLACE functions and triggers (the follower_history trigger) are replaced
 * in place by re-applying the file, so followers is never left without its trigger.
 */
export function derivedDrops(sql: string): string[] {
  const views = [...sql.matchAll(/^CREATE VIEW (\w+)/gm)].map(
    (m) => `DROP VIEW IF EXISTS "${m[1]}" CASCADE;`,
  );
  const functions = [...sql.matchAll(/^CREATE FUNCTION (\w+)\(([^)]*)\)/gm)].map(
    (m) => `DROP FUNCTION IF EXISTS "${m[1]}"(${m[2]}) CASCADE;`,
  );
  return [...views, ...functions];
}

/** A statement without its comment lines, as PostgreSQL would read it. */
const code = (statement: string) => statement.replace(/^\s*--.*$/gm, '').trim();

/**
 * The statements of `sql`, each with the comment lines above it: split on `;` outside `$$` bodies,
 * string literals and `--` comments.
 */
export function derivedStatements(sql: string): string[] {
  const statements: string[] = [];
  let start = 0;
  let i = 0;
  /** Where the text after `from` continues past `token` (the end when it never comes). */
  const past = (token: string, from: number) => {
    const at = sql.indexOf(token, from);
    return at < 0 ? sql.length : at + token.length;
  };
  while (i < sql.length) {
    if (sql.startsWith('$$', i)) i = past('$$', i + 2);
    else if (sql[i] === "'") i = past("'", i + 1);
    else if (sql.startsWith('--', i)) i = past('\n', i);
    else if (sql[i] === ';') {
      statements.push(sql.slice(start, i + 1).trim());
      start = i += 1;
    } else i += 1;
  }
  const rest = sql.slice(start).trim();
  if (code(rest)) statements.push(rest);
  return statements;
}

const digestOf = (statement: string) =>
  createHash('sha256').update(code(statement)).digest('hex').slice(0, 16);

/**
 * One digest per statement of `sql` (comments left out: rewording one changes nothing applied).
 * prisma/migrations/derived.applied.json keeps those of the derived.sql the last migration applied:
 * what changed since is known without a second copy of the file.
 */
export function statementDigests(sql: string): string[] {
  return derivedStatements(sql).map(digestOf);
}

/**
 * What a migration must apply of derived.sql, given the statement digests of the derived.sql the
 * last migration applied: nothing when no statement changed; only the new statements when the
 * change only adds some (a new view, its comments: creating them touches nothing that exists); the
 * whole file, dropped and re-created, as soon as an applied statement changed or went away.
 */
export type DerivedChange =
  | { kind: 'unchanged' }
  | { kind: 'added'; statements: string[] }
  | { kind: 'changed' };

export function derivedChange(applied: readonly string[], current: string): DerivedChange {
  const statements = derivedStatements(current);
  const now = new Set(statements.map(digestOf));
  if (applied.some((d) => !now.has(d))) return { kind: 'changed' };
  const before = new Set(applied);
  const added = statements.filter((s) => !before.has(digestOf(s)));
  return added.length === 0 ? { kind: 'unchanged' } : { kind: 'added', statements: added };
}

/**
 * `sql` as a migration can carry it: throws when a `;` is left anywhere but at the end of a
 * statement (in a comment or a string literal), where Prisma's JS engine would split it.
 */
export function assertSplittable(sql: string): string {
  for (const statement of derivedStatements(sql)) {
    if (statement.slice(0, -1).includes(';'))
      throw new Error(
        `a ';' inside a statement or its comment (Prisma splits on it): ${statement.slice(0, 200)}`,
      );
  }
  return sql;
}
