import type { PoolConfig } from 'pg';

/**
 * A DATABASE_URL split into pg's fields. Prisma's shadow-database code spreads this config and
 * overrides `database`; a plain `connectionString` would silently win over that override.
 */
export function pgConfigFromUrl(databaseUrl: string): PoolConfig {
  const url = new URL(databaseUrl);
  if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:') {
    throw new Error('DATABASE_URL must start with postgresql://');
  }
  const host = url.searchParams.get('host') ?? decodeURIComponent(url.hostname);
  return {
    host: host || 'localhost',
    port: url.port ? Number(url.port) : 5432,
    user: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    database: decodeURIComponent(url.pathname.replace(/^\//, '')) || undefined,
  };
}
