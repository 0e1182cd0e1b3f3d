/**
 * Once per test run: build a template database with every migration applied. Each test file
 * then clones it (CREATE DATABASE ... TEMPLATE), which takes milliseconds instead of a migrate.
 */
import { migrateDeploy } from '../../src/db/migrate.ts';
import { adminSql, TEMPLATE_DB, testDatabaseUrl } from './db.ts';

export default async function setup(): Promise<void> {
  await adminSql(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`);
  await adminSql(`CREATE DATABASE ${TEMPLATE_DB}`);
  await migrateDeploy(testDatabaseUrl(TEMPLATE_DB), { quiet: true });
}
