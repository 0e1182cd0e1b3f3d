/**
 * `npm run bench:sync -- --mode listing --followers 1000000 --changed 0.01 [--runs 3]`: one full
 * sync (not timed) mirrors the account into a fresh database, then each run is a quiet night:
 * --changed of the followers change on the fake first (half of them leave, as many new ones
 * follow, spread over every page), then a listing sync runs inline in its own process. Printed:
 * its user/get and batchget calls against the target (101 user/get + ceil(new / 100) batchget for
 * 1M followers), wall time (median), peak RSS, and that the mirror is exact afterwards.
 */
import type pg from 'pg';
import { migrateDeploy } from '../src/db/migrate.ts';
import { fmt, median } from './figures.ts';
import { runSyncChild, type SyncChildResult, startFakeProcess } from './services.ts';
import { stop } from './support.ts';

export interface ListingOptions {
  followers: string;
  latency: string;
  runs: string;
  changed: string;
  concurrency?: string;
  adminUrl: string;
  dbUrl: (name: string) => string;
  sql: (url: string, text: string) => Promise<pg.QueryResult>;
}

/** Mirror once, then one quiet night per run; prints calls, wall time, RSS. */
export async function benchListing(opts: ListingOptions): Promise<void> {
  const { adminUrl, dbUrl, sql, values } = { ...opts, values: opts };
  const followers = Number(values.followers);
  const { url: fakeUrl, child: fake } = await startFakeProcess(followers, values.latency);
  const syncChild = (mode: 'full' | 'listing', database: string, prefix: string) =>
    runSyncChild(mode, { databaseUrl: dbUrl(database), fakeUrl, prefix, concurrency: values.concurrency });
  const fakeApi = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${fakeUrl}/__fake${path}`, {
      method,
      headers: body === undefined ? undefined : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`fake ${method} ${path}: HTTP ${res.status}`);
    return res.json() as Promise<Record<string, unknown>>;
  };
  const callCounts = async () => (await fakeApi('GET', '/calls')).counts as Record<string, number>;

  const name = `wxsync_bench_${process.pid}_listing`;
  const prefix = `bench-sync-${process.pid}-listing`;
  const results: (SyncChildResult & { userGet: number; batchget: number; added: number; left: number })[] =
    [];
  try {
    await sql(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await sql(adminUrl, `CREATE DATABASE ${name}`);
    await migrateDeploy(dbUrl(name), { quiet: true });
    const seeded = await syncChild('full', name, prefix);
    console.error(`seeded: full sync of ${fmt(followers)} followers in ${fmt(seeded.wallMs / 1000, 1)} s`);
    const changed = Math.round(followers * Number(values.changed));
    const leaving = Math.floor(changed / 2);
    const joining = changed - leaving;
    for (let run = 0; run < Number(values.runs); run++) {
      const current = (await fakeApi('GET', '/followers')).openids as string[];
      // Spread over the whole listing, not one page.
      const step = Math.max(1, Math.floor(current.length / Math.max(1, leaving)));
      const gone = current.filter((_, i) => i % step === 0).slice(0, leaving);
      for (const openid of gone) await fakeApi('POST', `/followers/${openid}/unsubscribe`);
      await fakeApi('POST', '/followers', { n: joining });
      const before = await callCounts();
      const child = await syncChild('listing', name, prefix);
      const after = await callCounts();
      const delta = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
      const following = Number(((await fakeApi('GET', '/state')) as { followers: number }).followers);
      const stored = Number(
        (await sql(dbUrl(name), 'SELECT count(*) AS n FROM followers WHERE subscribe')).rows[0].n,
      );
      if (stored !== following) throw new Error(`mirror not exact: ${stored} stored, ${following} following`);
      const r = {
        ...child,
        userGet: delta('user/get'),
        batchget: delta('user/info/batchget'),
        added: joining,
        left: gone.length,
      };
      results.push(r);
      console.error(
        `run ${run + 1}: listing ${fmt(child.wallMs / 1000, 2)} s, user/get ${r.userGet}, batchget ${r.batchget} ` +
          `(${fmt(r.added)} new, ${fmt(r.left)} left), peak RSS ${fmt(child.peakRssMb)} MB, mirror exact (${fmt(stored)})`,
      );
    }
  } finally {
    await sql(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    await stop(fake);
  }
  const first = results[0]!;
  const targetUserGet = Math.ceil(followers / 10_000) + 1;
  const targetBatchget = Math.ceil(first.added / 100);
  console.log(
    `\nListing sync benchmark: ${fmt(followers)} followers, ${values.changed} changed per run ` +
      `(${fmt(first.added)} new, ${fmt(first.left)} left), fake latency ${values.latency} ms per call`,
  );
  console.log(
    `wall time          ${fmt(median(results.map((r) => r.wallMs)) / 1000, 2)} s (median of ${results.length})`,
  );
  console.log(`user/get calls     ${results.map((r) => r.userGet).join(', ')}  (target <= ${targetUserGet})`);
  console.log(
    `batchget calls     ${results.map((r) => r.batchget).join(', ')}  (target <= ceil(new / 100) = ${targetBatchget})`,
  );
  console.log(`peak RSS           ${fmt(median(results.map((r) => r.peakRssMb)))} MB`);
}
