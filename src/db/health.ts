/** The database half of the readiness checks (src/ops/checks.ts). */
import type { Db } from './client.ts';

/** Throws unless PostgreSQL answers a query. */
export async function pingDatabase(db: Db): Promise<void> {
  await db.$queryRaw`SELECT 1`;
}

/** Throws unless the schema is migrated: sync_runs is the last table the first migration creates. */
export async function checkSchemaApplied(db: Db): Promise<void> {
  await db.$queryRaw`SELECT 1 FROM sync_runs LIMIT 1`;
}
