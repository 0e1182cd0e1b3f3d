import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { createDb, type Db } from '../../src/db/client.ts';

/** Server to create test databases on; any database on it works as the admin connection. */
export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://root@127.0.0.1:5432/postgres';

export function testDatabaseUrl(database: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function adminSql(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  name: string;
  url: string;
  db: Db;
  drop(): Promise<void>;
}

/** A fresh, fully migrated database for one test file; `drop()` removes it. */
export async function freshDatabase(): Promise<TestDatabase> {
  const name = `wxsync_t_${randomBytes(5).toString('hex')}`;
  await adminSql(`CREATE DATABASE ${name} TEMPLATE ${inject('templateDb')}`);
  const url = testDatabaseUrl(name);
  const db = createDb(url, { poolSize: 5 });
  return {
    name,
    url,
    db,
    async drop() {
      await db.$disconnect();
      await adminSql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}
