/**
 * Once per test run: build a template database with every migration applied. Each test file
 * then clones it (CREATE DATABASE ... TEMPLATE), which takes milliseconds instead of a migrate.
 * The template's name is unique to this run, so parallel runs (several developers, CI) never
 * drop each other's template.
 */
import type { TestProject } from 'vitest/node';
import { migrateDeploy } from '../../src/db/migrate.ts';
import { adminSql, testDatabaseUrl } from './db.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    templateDb: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const template = `wxsync_test_template_${process.pid}`;
  await adminSql(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
  await adminSql(`CREATE DATABASE ${template}`);
  await migrateDeploy(testDatabaseUrl(template), { quiet: true });
  project.provide('templateDb', template);
  return async () => {
    await adminSql(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
  };
}
