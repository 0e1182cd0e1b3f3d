/**
 * prisma/derived.sql (views, functions, triggers, reference data) as a migration re-applies it.
 *
 * Prisma's JS schema engine splits a migration script on every `;`, even inside `$$` function
 * bodies and string literals (verified: a plpgsql body fails with "unterminated dollar-quoted
 * string"). derived.sql stays readable with ordinary `$$` bodies; the migration gets each body as
 * an escape string instead, E'...', with `;` written as its octal escape \073, so no `;` is left
 * for the engine to split on while PostgreSQL still reads the same function text.
 */

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
