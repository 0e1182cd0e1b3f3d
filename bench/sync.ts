/**
 * Follower sync benchmark: the fake platform (its own process) holds N followers; `followers` sync
 * runs inline in a second process into a fresh database. Ceiling, measured in the same run: the
 * time PostgreSQL takes to COPY the very rows the sync wrote into an identical table (same
 * indexes). Medians over --runs.
 *
 * --history compare (the default) measures the cost of follower_history in the same run: each
 * round syncs once into a database whose history triggers are disabled and once into one where
 * they run (alternating which goes first), then re-syncs the history database with nothing
 * changed and counts the history rows that re-sync wrote (must be 0). --history on|off runs one side.
 *
 * --mode listing (bench/sync-listing.ts): the nightly listing sync of a mirrored account, with
 * --changed of its followers changed before each run.
 *
 *   npm run bench:sync [-- --followers 1000000 --latency 0 --runs 3 --history compare|on|off]
 *   npm run bench:sync -- --mode listing --followers 1000000 --changed 0.01
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { migrateDeploy } from '../src/db/migrate.ts';
import { fmt, median } from './figures.ts';
import { runSyncChild, type SyncChildResult, sql, startFakeProcess } from './services.ts';
import { stop } from './support.ts';

const { values } = parseArgs({
  options: {
    followers: { type: 'string', default: '1000000' },
    latency: { type: 'string', default: '0' },
    runs: { type: 'string', default: '3' },
    concurrency: { type: 'string' },
    history: { type: 'string', default: 'compare' },
    mode: { type: 'string', default: 'full' },
    changed: { type: 'string', default: '0.01' },
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

if (values.mode === 'listing') {
  const { benchListing } = await import('./sync-listing.ts');
  await benchListing({ ...values, adminUrl, dbUrl, sql });
  process.exit(0);
}
if (values.mode !== 'full') throw new Error('--mode must be full or listing');

type Mode = 'on' | 'off';
const modes: Mode[] =
  values.history === 'compare' ? ['off', 'on'] : values.history === 'on' ? ['on'] : ['off'];
if (!['compare', 'on', 'off'].includes(values.history))
  throw new Error('--history must be compare, on or off');

const count = async (url: string, table: string) =>
  Number((await sql(url, `SELECT count(*) AS n FROM ${table}`)).rows[0].n);

const followers = Number(values.followers);
const { url: fakeUrl, child: fake } = await startFakeProcess(followers, values.latency);
const dir = mkdtempSync(join(tmpdir(), 'wxsync-bench-sync-'));
const results: Record<Mode, (SyncChildResult & { copyMs: number })[]> = { on: [], off: [] };
const resync: { wallMs: number; historyRows: number }[] = [];
let historyRowsAfterSync = 0;
try {
  // The fake counts tags over every follower on the first tags/get (then caches): pay it before timing.
  await (await fetch(`${fakeUrl}/__fake/tags`)).arrayBuffer();
  for (let run = 0; run < Number(values.runs); run++) {
    const order = run % 2 === 0 ? modes : [...modes].reverse();
    for (const mode of order) {
      const name = `wxsync_bench_${process.pid}_${run}_${mode}`;
      await sql(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await sql(adminUrl, `CREATE DATABASE ${name}`);
      try {
        await migrateDeploy(dbUrl(name), { quiet: true });
        if (mode === 'off') await sql(dbUrl(name), 'ALTER TABLE followers DISABLE TRIGGER USER');
        const syncOnce = () =>
          runSyncChild('full', {
            databaseUrl: dbUrl(name),
            fakeUrl,
            prefix: `bench-sync-${process.pid}-${run}-${mode}`,
            concurrency: values.concurrency,
          });
        const child = await syncOnce();
        const stored = await count(dbUrl(name), 'followers');
        if (stored < followers) throw new Error(`only ${stored} of ${followers} followers stored`);
        const history = await count(dbUrl(name), 'follower_history');
        let note = '';
        if (mode === 'on') {
          historyRowsAfterSync = history;
          const again = await syncOnce();
          const written = (await count(dbUrl(name), 'follower_history')) - history;
          resync.push({ wallMs: again.wallMs, historyRows: written });
          note = `, history rows ${fmt(history)}; no-change re-sync ${fmt(again.wallMs / 1000, 1)} s wrote ${written} history rows`;
        }
        const copyMs = copyCeilingMs(dbUrl(name), dir);
        results[mode].push({ ...child, copyMs });
        console.error(
          `run ${run + 1} history ${mode}: sync ${fmt(child.wallMs / 1000, 1)} s (${fmt(followers / (child.wallMs / 1000))} followers/s), ` +
            `peak RSS ${fmt(child.peakRssMb)} MB, COPY ceiling ${fmt(copyMs / 1000, 1)} s, stored ${fmt(stored)}${note}`,
        );
      } finally {
        await sql(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      }
    }
  }
} finally {
  await stop(fake);
  rmSync(dir, { recursive: true, force: true });
}
console.log(
  `\nFollower sync benchmark: ${fmt(followers)} followers, fake latency ${values.latency} ms per call`,
);
for (const mode of modes) {
  const rs = results[mode];
  const wall = median(rs.map((r) => r.wallMs)) / 1000;
  const copy = median(rs.map((r) => r.copyMs)) / 1000;
  console.log(`\nfollower_history ${mode === 'on' ? 'written (triggers on)' : 'off (triggers disabled)'}`);
  console.log(
    `sync wall time     ${fmt(wall, 1)} s (median of ${rs.length}: ${rs.map((r) => fmt(r.wallMs / 1000, 1)).join(', ')})`,
  );
  console.log(`followers/s        ${fmt(followers / wall)}`);
  console.log(`peak RSS           ${fmt(median(rs.map((r) => r.peakRssMb)))} MB`);
  console.log(`COPY ceiling       ${fmt(copy, 1)} s  (ratio sync/COPY ${fmt(wall / copy, 1)}x)`);
}
if (modes.includes('on')) {
  console.log(`\nhistory rows after the full sync    ${fmt(historyRowsAfterSync)}`);
  console.log(
    `no-change re-sync                  ${fmt(median(resync.map((r) => r.wallMs)) / 1000, 1)} s (median), history rows written: ${resync.map((r) => r.historyRows).join(', ')}`,
  );
}
if (modes.length === 2) {
  const on = median(results.on.map((r) => r.wallMs));
  const off = median(results.off.map((r) => r.wallMs));
  console.log(`history cost       ${fmt(on / off, 2)}x (median with / median without; target <= 1.3x)`);
}
