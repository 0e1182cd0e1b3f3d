/**
 * What a benchmark runs against: made-up credentials, the fake platform in its own process, a
 * follower sync in its own process, a fresh migrated database, and Redis (a private redis-server
 * unless a URL is given).
 */
import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import pg from 'pg';
import { migrateDeploy } from '../src/db/migrate.ts';
import { deleteKeysUnder } from '../src/redis.ts';
import { freePort, runNode, startBenchRedis, startNode, stop, waitForHttp } from './support.ts';

/**
 * Made-up credentials for the benchmarks (bench/ has its own, never test/'s): the real account's
 * values never appear in the repository.
 */
export const BENCH_WECHAT = {
  WECHAT_APP_ID: 'wx0123456789abcdef',
  WECHAT_APP_SECRET: 'benchsecret0123456789abcdef01234',
  WECHAT_TOKEN: 'benchtoken123',
  WECHAT_ENCODING_AES_KEY: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
} as const;
/** Made-up bearer token for the /metrics of processes a benchmark starts. */
export const BENCH_ADMIN_TOKEN = 'bench-admin-token-0123456789';

/**
 * The fake platform (`wxsync fake-wechat`) in its own process on a free port: `followers`
 * followers, no blacklist, every API call answered after `latency` ms, the benchmark's made-up
 * credentials. Resolves once it answers (stopped again if it never does).
 */
export async function startFakeProcess(
  followers: number,
  latency: number | string,
): Promise<{ url: string; child: ChildProcess & { output: string[] } }> {
  const port = await freePort();
  // WeChat's published user/get limit is 500 a day, and every 1M sync spends 101 of them: a
  // benchmark session of several syncs would pause on 45009. The benchmarks measure syncs.
  const args = ['--port', String(port), '--followers', String(followers), '--blacklist', '0'];
  args.push('--quota', '/cgi-bin/user/get=1000000');
  const child = startNode(['src/cli.ts', 'fake-wechat', ...args, '--latency', String(latency)], {
    ...BENCH_WECHAT,
    LOG_LEVEL: 'warn',
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/__fake/state`, child);
  } catch (error) {
    await stop(child);
    throw error;
  }
  return { url, child };
}

/** What bench/sync-child.ts prints: the run's wall time, its counts and the process's peak RSS. */
export interface SyncChildResult {
  wallMs: number;
  peakRssMb: number;
  counts: Record<string, number>;
}

/**
 * One follower sync (`mode`) inline in its own process (bench/sync-child.ts), into `databaseUrl`
 * from the fake at `fakeUrl`, under Redis prefix `prefix`; no client-side rate limit to speak of.
 */
export async function runSyncChild(
  mode: 'full' | 'listing',
  run: { databaseUrl: string; fakeUrl: string; prefix: string; concurrency?: string },
): Promise<SyncChildResult> {
  const out = await runNode(['bench/sync-child.ts', mode], {
    ...BENCH_WECHAT,
    DATABASE_URL: run.databaseUrl,
    WECHAT_API_BASE: run.fakeUrl,
    QUEUE_PREFIX: run.prefix,
    WECHAT_RATE_LIMIT_PER_S: '100000',
    ...(run.concurrency ? { SYNC_BATCH_CONCURRENCY: run.concurrency } : {}),
    LOG_LEVEL: 'warn',
  });
  return JSON.parse(out.trim().split('\n').at(-1)!) as SyncChildResult;
}

export interface BenchDatabase {
  url: string;
  query<Row extends pg.QueryResultRow>(text: string): Promise<Row[]>;
  /** The `n` column of the first row of `text`, as a number. */
  count(text: string): Promise<number>;
  drop(): Promise<void>;
}

/** One statement on its own connection to `url` (admin statements: CREATE / DROP DATABASE). */
export async function sql(url: string, text: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

/** A freshly created and migrated database `name` next to `adminUrl` (dropped first if it exists). */
export async function benchDatabase(adminUrl: string, name: string): Promise<BenchDatabase> {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const admin = (text: string) => sql(adminUrl, text);
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${name}`);
  await migrateDeploy(url.toString(), { quiet: true });
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
  const query = async <Row extends pg.QueryResultRow>(text: string) => (await pool.query<Row>(text)).rows;
  return {
    url: url.toString(),
    query,
    count: async (text) => Number((await query<{ n: string }>(text))[0]?.n ?? 0),
    async drop() {
      await pool.end();
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

export interface BenchRedis {
  url: string;
  /** Deletes every key under `<prefix>:` (queues and claims of a benchmark run). */
  dropKeys(prefix: string): Promise<void>;
  /** Ends the private redis-server (nothing for a Redis given by URL). */
  stop(): Promise<void>;
}

/** The Redis a benchmark runs against: `url` when given, else a private redis-server. */
export async function benchRedis(url: string | undefined): Promise<BenchRedis> {
  const server = url ? { url, stop: async () => undefined } : await startBenchRedis();
  return { ...server, dropKeys: (prefix) => dropRedisKeys(server.url, prefix) };
}

/** Deletes every key under `<prefix>:` (queues and claims of a benchmark run). */
async function dropRedisKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  try {
    await deleteKeysUnder(redis, prefix);
  } finally {
    redis.disconnect();
  }
}
