/**
 * Authors the next migration without a shadow database (Prisma's shadow-database path is broken
 * with the JS schema engine, see README): diff the schema of the last migration (kept as
 * prisma/migrations/schema.snapshot.prisma) against prisma/schema.prisma, then re-apply the
 * column comments and prisma/derived.sql (views, functions, triggers, reference data; see derived-sql.ts).
 *
 *   npm run db:new-migration -- <name>
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { derivedDrops, withoutDollarQuotes } from './derived-sql.ts';
import { docCommentsSql } from './prisma-doc-comments.ts';

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error('usage: npm run db:new-migration -- <name in snake_case>');
  process.exit(2);
}
const snapshot = 'prisma/migrations/schema.snapshot.prisma';
const from = existsSync(snapshot) ? ['--from-schema-datamodel', snapshot] : ['--from-empty'];
const diff = execFileSync(
  'npx',
  ['prisma', 'migrate', 'diff', ...from, '--to-schema-datamodel', 'prisma/schema.prisma', '--script'],
  // The JS schema engine connects even to diff two files: DATABASE_URL (env or .env) must reach a server.
  { encoding: 'utf8' },
);
const derived = readFileSync('prisma/derived.sql', 'utf8');
const sql = [
  '-- Views and functions are recreated from prisma/derived.sql at the end of every migration.',
  ...derivedDrops(derived),
  diff.trim(),
  '-- Column and table comments, from the /// docs in schema.prisma.',
  docCommentsSql(),
  withoutDollarQuotes(derived.trim()),
  '',
].join('\n\n');
const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
const dir = `prisma/migrations/${stamp}_${name}`;
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}/migration.sql`, sql);
copyFileSync('prisma/schema.prisma', snapshot);
console.log(`wrote ${dir}/migration.sql`);
