/**
 * Follower sync benchmark: the fake platform (its own process) holds N followers; `followers` sync
 * runs inline in a second process into a fresh database. Ceiling, measured in the same run: the
 * time PostgreSQL takes to COPY the very rows the sync wrote into an identical table (same
 * indexes). Medians over --runs.
 *
 *   npm run bench:sync [-- --followers 1000000 --latency 0 --runs 3]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { migrateDeploy } from '../src/db/migrate.ts';
import { BENCH_WECHAT, fmt, freePort, median, runNode, startNode, stop, waitForHttp } from './support.ts';

const { values } = parseArgs({
  options: {
    followers: { type: 'string', default: '1000000' },
    latency: { type: 'string', default: '0' },
    runs: { type: 'string', default: '3' },
    concurrency: { type: 'string' },
    'admin-url': {
      type: 'string',
      default: process.env.TEST_DATABASE_URL ?? 'postgresql://root@127.0.0.1:5432/postgres',
    },
  },
});
const adminUrl = values['admin-url'];
const dbUrl = (name: string) => {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
};
async function sql(url: string, text: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

/** COPY the synced rows out, then time COPY into an identical table: the database's own speed. */
function copyCeilingMs(url: string, dir: string): number {
  const file = join(dir, 'followers.copy');
  const psql = (command: string) => execFileSync('psql', [url, '-qAt', '-c', command], { stdio: 'pipe' });
  psql(`\\copy followers TO '${file}'`);
  psql('CREATE TABLE followers_ceiling (LIKE followers INCLUDING ALL)');
  const started = performance.now();
  psql(`\\copy followers_ceiling FROM '${file}'`);
  return performance.now() - started;
}

interface ChildResult {
  wallMs: number;
  peakRssMb: number;
  counts: Record<string, number>;
}

const followers = Number(values.followers);
const port = await freePort();
const fake = startNode(
  [
    'src/cli.ts',
    'fake-wechat',
    '--port',
    String(port),
    '--followers',
    String(followers),
    '--blacklist',
    '0',
    '--latency',
    values.latency,
  ],
  { ...BENCH_WECHAT, LOG_LEVEL: 'warn' },
);
const dir = mkdtempSync(join(tmpdir(), 'wxsync-bench-sync-'));
const results: (ChildResult & { copyMs: number })[] = [];
try {
  await waitForHttp(`http://127.0.0.1:${port}/__fake/state`, fake);
  for (let run = 0; run < Number(values.runs); run++) {
    const name = `wxsync_bench_${process.pid}_${run}`;
    await sql(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await sql(adminUrl, `CREATE DATABASE ${name}`);
    try {
      await migrateDeploy(dbUrl(name), { quiet: true });
      const out = await runNode(['bench/sync-child.ts'], {
        ...BENCH_WECHAT,
        DATABASE_URL: dbUrl(name),
        WECHAT_API_BASE: `http://127.0.0.1:${port}`,
        QUEUE_PREFIX: `bench-sync-${process.pid}-${run}`,
        WECHAT_RATE_LIMIT_PER_S: '100000',
        ...(values.concurrency ? { SYNC_BATCH_CONCURRENCY: values.concurrency } : {}),
        LOG_LEVEL: 'warn',
      });
      const child = JSON.parse(out.trim().split('\n').at(-1)!) as ChildResult;
      const stored = Number((await sql(dbUrl(name), 'SELECT count(*) AS n FROM followers')).rows[0].n);
      if (stored < followers) throw new Error(`only ${stored} of ${followers} followers stored`);
      const copyMs = copyCeilingMs(dbUrl(name), dir);
      results.push({ ...child, copyMs });
      console.error(
        `run ${run + 1}: sync ${fmt(child.wallMs / 1000, 1)} s (${fmt(followers / (child.wallMs / 1000))} followers/s), ` +
          `peak RSS ${fmt(child.peakRssMb)} MB, COPY ceiling ${fmt(copyMs / 1000, 1)} s, stored ${fmt(stored)}`,
      );
    } finally {
      await sql(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  }
} finally {
  await stop(fake);
  rmSync(dir, { recursive: true, force: true });
}
const wall = median(results.map((r) => r.wallMs)) / 1000;
const copy = median(results.map((r) => r.copyMs)) / 1000;
console.log(
  `\nFollower sync benchmark: ${fmt(followers)} followers, fake latency ${values.latency} ms per call`,
);
console.log(`sync wall time     ${fmt(wall, 1)} s (median of ${results.length})`);
console.log(`followers/s        ${fmt(followers / wall)}`);
console.log(`peak RSS           ${fmt(median(results.map((r) => r.peakRssMb)))} MB`);
console.log(`COPY ceiling       ${fmt(copy, 1)} s  (ratio sync/COPY ${fmt(wall / copy, 1)}x)`);
