/**
 * What `wxsync demo` checks before it starts anything: PostgreSQL answers (its database is created
 * when missing), the database is not a real mirror, Redis answers. Every failure is one line that
 * names the service and the command that starts it; connection URLs are shown without passwords.
 */
import { readdirSync } from 'node:fs';
import { Redis } from 'ioredis';
import pg from 'pg';
import { errorFamily, errorMessage, UnavailableError, type WxsyncError } from '../errors.ts';
import { redactSecrets } from '../safe-error.ts';

export const START_SERVICES = 'docker compose up -d postgres redis';

/** This machine's kind of PostgreSQL (local, trust auth, user root): the demo's own database. */
export const LOCAL_DEMO_DATABASE_URL = 'postgresql://root@127.0.0.1:5432/wxsync_demo';
/** docker-compose.yml's PostgreSQL (user wxsync, password wxsync-local), a database of the demo's own. */
export const COMPOSE_DEMO_DATABASE_URL = 'postgresql://wxsync:wxsync-local@127.0.0.1:5432/wxsync_demo';

/** The database holds a mirror the demo must not write made-up followers into. */
export class RealMirrorError extends errorFamily(409, false, 'real_mirror') {}

/** user@host:port/db, never the password. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.host}${u.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}

function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, '')) || 'postgres';
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ECONNRESET',
]);

function pgCode(error: unknown): string | undefined {
  const e = error as { code?: unknown; errors?: { code?: unknown }[] };
  if (typeof e?.code === 'string') return e.code;
  // Node reports a refused dual-stack connect as an AggregateError of one error per address.
  const inner = e?.errors?.find((x) => typeof x?.code === 'string');
  return inner?.code as string | undefined;
}

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 4_000 });
  client.on('error', () => undefined); // a backend dying later must not become an unhandled event
  await client.connect();
  return client;
}

export interface PostgresCheck {
  url: string;
  created: boolean;
}

/** Classifies a connection failure into the one line an operator needs. */
function postgresFailure(url: string, error: unknown): WxsyncError {
  const code = pgCode(error);
  const where = describeUrl(url);
  if (code && UNREACHABLE.has(code)) {
    return new UnavailableError(
      `PostgreSQL is not reachable at ${new URL(url).host} (${code}): start it with \`${START_SERVICES}\`, or set DATABASE_URL`,
    );
  }
  if (error instanceof Error && /timeout/i.test(error.message)) {
    return new UnavailableError(
      `PostgreSQL at ${new URL(url).host} did not answer in time: start it with \`${START_SERVICES}\`, or set DATABASE_URL`,
    );
  }
  if (code === '28P01' || code === '28000') {
    return new UnavailableError(
      `PostgreSQL refused the login for ${where} (${code === '28P01' ? 'wrong password' : 'no such role'}): set DATABASE_URL (docker compose: ${describeUrl(COMPOSE_DEMO_DATABASE_URL)}, password from docker-compose.yml)`,
    );
  }
  const message = redactSecrets(errorMessage(error)).split('\n')[0] ?? '';
  return new UnavailableError(`PostgreSQL at ${where}: ${message}`);
}

/**
 * Connects to `url`; when its database does not exist, creates it through the server's `postgres`
 * maintenance database (then `template1`). Throws a one-line UnavailableError otherwise.
 */
export async function ensureDatabase(url: string): Promise<PostgresCheck> {
  try {
    const client = await connect(url);
    await client.end();
    return { url, created: false };
  } catch (error) {
    if (pgCode(error) !== '3D000') throw postgresFailure(url, error);
  }
  const name = databaseName(url);
  let lastError: unknown;
  for (const maintenance of ['postgres', 'template1']) {
    let client: pg.Client;
    try {
      client = await connect(withDatabase(url, maintenance));
    } catch (error) {
      lastError = error;
      continue;
    }
    try {
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      return { url, created: true };
    } catch (error) {
      if (pgCode(error) === '42P04') return { url, created: false }; // created meanwhile
      throw new UnavailableError(
        `could not create the database "${name}" on ${new URL(url).host}: ${errorMessage(error).split('\n')[0]}`,
      );
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  throw postgresFailure(url, lastError);
}

/**
 * Picks the demo's database: DATABASE_URL when set; otherwise this kind of machine's local
 * PostgreSQL (user root), then docker-compose.yml's (user wxsync) when the first login is refused.
 */
export async function chooseDatabase(explicit: string | undefined): Promise<PostgresCheck> {
  if (explicit) return ensureDatabase(explicit);
  try {
    return await ensureDatabase(LOCAL_DEMO_DATABASE_URL);
  } catch (error) {
    // Only a refused login means "another PostgreSQL": an unreachable server is the same for both.
    if (!(error instanceof UnavailableError) || !/refused the login/.test(error.message)) throw error;
    return ensureDatabase(COMPOSE_DEMO_DATABASE_URL);
  }
}

/**
 * Refuses a database that already holds a real mirror (sync runs the demo did not start): the demo
 * would mix tens of thousands of made-up followers into it.
 */
export async function refuseRealMirror(url: string): Promise<void> {
  const client = await connect(url);
  try {
    const exists = await client.query<{ t: string | null }>(`SELECT to_regclass('sync_runs')::text AS t`);
    if (!exists.rows[0]?.t) return;
    const real = await client.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM sync_runs WHERE trigger IS DISTINCT FROM 'demo'`,
    );
    if (Number(real.rows[0]?.n ?? 0) > 0) {
      throw new RealMirrorError(
        `${describeUrl(url)} holds a real mirror (sync runs not started by the demo): point DATABASE_URL (or --database-url) at a database of its own, e.g. ${describeUrl(LOCAL_DEMO_DATABASE_URL)}`,
      );
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** PING with a short deadline and no reconnect loop (and no ioredis "Unhandled error event" stack). */
export async function checkRedis(url: string): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 4_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  let lastError: Error | undefined;
  redis.on('error', (error: Error) => {
    lastError = error;
  });
  let host = url;
  try {
    host = new URL(url).host;
  } catch {}
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    const code =
      pgCode(lastError ?? error) ?? (error instanceof Error ? (error.message.split('\n')[0] ?? '') : '');
    throw new UnavailableError(
      `Redis is not reachable at ${host} (${code}): start it with \`${START_SERVICES}\`, or set REDIS_URL`,
    );
  } finally {
    redis.disconnect();
  }
}

/**
 * Migrations in prisma/migrations that `url` has not applied (all of them on a new database).
 * Lets the demo skip `prisma migrate deploy` (a Prisma CLI start, seconds on a small machine) when
 * the database is up to date; anything pending goes through migrate deploy as usual.
 */
export async function pendingMigrations(url: string): Promise<string[]> {
  const dir = new URL('../../prisma/migrations/', import.meta.url);
  const local = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name);
  const client = await connect(url);
  try {
    const exists = await client.query<{ t: string | null }>(
      `SELECT to_regclass('_prisma_migrations')::text AS t`,
    );
    if (!exists.rows[0]?.t) return local;
    const applied = await client.query<{ migration_name: string }>(
      'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
    );
    const done = new Set(applied.rows.map((r) => r.migration_name));
    return local.filter((name) => !done.has(name));
  } finally {
    await client.end().catch(() => undefined);
  }
}
