/** Shared plumbing of the benchmarks: child processes, readiness, medians, report lines. */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import pg from 'pg';
import { migrateDeploy } from '../src/db/migrate.ts';

export const TSX = ['--import', 'tsx'];

/** A TCP port free right now on 127.0.0.1 (for the processes a benchmark starts). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Starts `node [nodeArgs] --import tsx <args>`; its output is kept for the error message if it dies. */
export function startNode(
  args: string[],
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
): ChildProcess & { output: string[] } {
  const child = spawn(process.execPath, [...nodeArgs, ...TSX, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  }) as ChildProcess & { output: string[] };
  child.output = [];
  const keep = (chunk: Buffer) => {
    child.output.push(chunk.toString());
    if (child.output.length > 200) child.output.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return child;
}

/** Runs a node script to completion and returns its stdout. */
export async function runNode(args: string[], env: Record<string, string> = {}): Promise<string> {
  const child = startNode(args, env);
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`${args.join(' ')} exited ${code}:\n${child.output.join('')}`);
  return child.output.join('');
}

export async function waitForHttp(url: string, child?: ChildProcess & { output: string[] }, seconds = 60) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`process died:\n${child.output.join('')}`);
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${url} not up after ${seconds}s`);
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await once(child, 'exit');
  clearTimeout(timer);
}

export const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

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

/** The nearest-rank percentile `p` (0..100) of `values` (NaN for none). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export interface BenchDatabase {
  url: string;
  query<Row extends pg.QueryResultRow>(text: string): Promise<Row[]>;
  /** The `n` column of the first row of `text`, as a number. */
  count(text: string): Promise<number>;
  drop(): Promise<void>;
}

/** A freshly created and migrated database `name` next to `adminUrl` (dropped first if it exists). */
export async function benchDatabase(adminUrl: string, name: string): Promise<BenchDatabase> {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const admin = async (text: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(text);
    } finally {
      await client.end();
    }
  };
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

/** Deletes every key under `<prefix>:` (queues and claims of a benchmark run). */
export async function dropRedisKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * A private redis-server on a free port for one benchmark (no persistence, noeviction as BullMQ
 * requires): the shared Redis on 6379 also serves other people's tests, whose load would show up
 * in the figures. Resolves once it accepts connections; `stop` ends it.
 */
export async function startBenchRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxmemory-policy',
      'noeviction',
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code})`)));
  });
  // Never outlives the benchmark, even one that dies of an error.
  const kill = () => child.kill();
  process.once('exit', kill);
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      process.off('exit', kill);
      await stop(child);
    },
  };
}
