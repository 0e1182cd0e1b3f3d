/**
 * Authors the next migration without a shadow database (Prisma's shadow-database path is broken
 * with the JS schema engine, see README): diff the schema of the last migration (kept as
 * prisma/migrations/schema.snapshot.prisma) against prisma/schema.prisma, then re-apply the
 * column comments and what changed in prisma/derived.sql (views, functions, triggers, reference
 * data) since the last migration (prisma/migrations/derived.applied.json: the digests of the
 * statements it applied; see derived-sql.ts).
 *
 * derived.sql is carried whole (its views dropped first, re-created last) when one of its
 * statements changed or the schema diff changes existing columns (a view may read them); when it
 * only gained statements, the migration carries just those, not another copy of the file.
 *
 *   npm run db:new-migration -- <name>
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import {
  assertSplittable,
  derivedChange,
  derivedDrops,
  statementDigests,
  withoutDollarQuotes,
} from './derived-sql.ts';
import { docCommentsSql } from './prisma-doc-comments.ts';

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error('usage: npm run db:new-migration -- <name in snake_case>');
  process.exit(2);
}
const snapshot = 'prisma/migrations/schema.snapshot.prisma';
const derivedApplied = 'prisma/migrations/derived.applied.json';
const from = existsSync(snapshot) ? ['--from-schema-datamodel', snapshot] : ['--from-empty'];
const diff = execFileSync(
  'npx',
  ['prisma', 'migrate', 'diff', ...from, '--to-schema-datamodel', 'prisma/schema.prisma', '--script'],
  // The JS schema engine connects even to diff two files: DATABASE_URL (env or .env) must reach a server.
  { encoding: 'utf8' },
).trim();
const derived = readFileSync('prisma/derived.sql', 'utf8');
const touchesExisting = /\b(ALTER COLUMN|DROP COLUMN|RENAME|DROP TABLE|DROP TYPE)\b/i.test(diff);
const change = existsSync(derivedApplied)
  ? derivedChange(JSON.parse(readFileSync(derivedApplied, 'utf8')).statements, derived)
  : ({ kind: 'changed' } as const);
const whole = touchesExisting || change.kind === 'changed';
// Comments survive a migration that changes no existing column: only the new or reworded ones are needed.
const previousComments = new Set(existsSync(snapshot) ? docCommentsSql(snapshot).split('\n') : []);
const newComments = docCommentsSql()
  .split('\n')
  .filter((line) => !previousComments.has(line));
const sections = whole
  ? [
      '-- Views and functions are recreated from prisma/derived.sql at the end of every migration.',
      ...derivedDrops(derived),
      diff,
      '-- Column and table comments, from the /// docs in schema.prisma.',
      docCommentsSql(),
      withoutDollarQuotes(derived.trim()),
    ]
  : [
      diff,
      ...(newComments.length > 0
        ? [
            '-- Column and table comments new or reworded in the /// docs of schema.prisma.',
            newComments.join('\n'),
          ]
        : []),
      ...(change.kind === 'added'
        ? [
            '-- What prisma/derived.sql gained since the last migration.',
            ...change.statements.map(withoutDollarQuotes),
          ]
        : []),
    ];
const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
const dir = `prisma/migrations/${stamp}_${name}`;
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}/migration.sql`, assertSplittable([...sections, ''].join('\n\n')));
copyFileSync('prisma/schema.prisma', snapshot);
writeFileSync(derivedApplied, `${JSON.stringify({ statements: statementDigests(derived) }, null, 2)}\n`);
console.log(`wrote ${dir}/migration.sql (derived.sql: ${whole ? 'whole' : change.kind})`);
