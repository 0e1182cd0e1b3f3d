/**
 * Ingest benchmark: how many signed subscribe pushes per second `/wx` accepts, against the ceiling
 * of a bare Hono handler on the same port, then a check that nothing was lost or doubled.
 *
 *   npm run bench:ingest [-- --seconds 10 --connections 32 --runs 3]
 *
 * Server and load generator are separate processes (the load must not share the server's event
 * loop). Each request is a distinct event, never replayed. Medians over `--runs` runs.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { dedupeKey } from '../src/events/message.ts';
import { queuedPushes } from '../src/events/queued.ts';
import { FakeState, Pusher } from '../src/fake-wechat/index.ts';
import { fmt, median } from './figures.ts';
import { BENCH_WECHAT, benchRedis } from './services.ts';
import { freePort, runNode, startNode, stop, waitForHttp } from './support.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    runs: { type: 'string', default: '3' },
    /** Default: a private redis-server started for the benchmark (see benchRedis). */
    'redis-url': { type: 'string' },
    /** Write a V8 CPU profile of each `wxsync serve` run into this directory (bench/cpu-profile-summary.ts reads it). */
    'cpu-prof': { type: 'string' },
    /** Only these modes (plain, safe), e.g. for a profile of one. */
    modes: { type: 'string', default: 'plain,safe' },
  },
});
const seconds = Number(values.seconds);
const runs = Number(values.runs);
const redis = await benchRedis(values['redis-url']);
const redisUrl = redis.url;
/** Enough distinct events that even 20,000 req/s never runs out within the duration. */
const EVENTS_PER_RUN = Math.max(50_000, seconds * 20_000);

interface LoadResult {
  sent: number;
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
}

const dir = mkdtempSync(join(tmpdir(), 'wxsync-bench-'));

/** Distinct subscribe pushes, signed (and in safe mode encrypted) exactly as WeChat would. */
function writePushes(mode: 'plain' | 'safe', run: number): string {
  const state = new FakeState({ followers: 0, appId: BENCH_WECHAT.WECHAT_APP_ID, seed: run });
  const pusher = new Pusher(state, {
    callbackUrl: 'http://bench/wx',
    token: BENCH_WECHAT.WECHAT_TOKEN,
    encodingAesKey: BENCH_WECHAT.WECHAT_ENCODING_AES_KEY,
    mode,
  });
  const now = Math.floor(Date.now() / 1000);
  const pushes = Array.from({ length: EVENTS_PER_RUN }, (_, i) => {
    const openid = `oBench${mode}${run}_${String(i).padStart(8, '0')}`;
    const { url, body } = pusher.build(openid, { MsgType: 'event', Event: 'subscribe', EventKey: '' }, now);
    return { path: url.slice('http://bench'.length), body };
  });
  const file = join(dir, `${mode}-${run}.json`);
  writeFileSync(file, JSON.stringify(pushes));
  return file;
}

async function load(file: string, baseUrl: string): Promise<LoadResult> {
  const out = await runNode(['bench/load.ts', file, baseUrl, String(seconds), values.connections]);
  return JSON.parse(out.trim().split('\n').at(-1)!) as LoadResult;
}

/** A ceiling handler (bench/bare-hono.ts): bare, or with one Redis write per push (`withRedis`). */
async function ceilingRun(file: string, withRedis: boolean): Promise<LoadResult> {
  const port = await freePort();
  const prefix = `bench-ingest-ceiling-${process.pid}-${Date.now()}`;
  const bare = startNode(['bench/bare-hono.ts', String(port), ...(withRedis ? [redisUrl, prefix] : [])]);
  try {
    await waitForHttp(`http://127.0.0.1:${port}/`, bare);
    return await load(file, `http://127.0.0.1:${port}`);
  } finally {
    await stop(bare);
    if (withRedis) await redis.dropKeys(prefix);
  }
}

/** One run against `wxsync serve`, then the queue is counted: every accepted event exactly once. */
interface ServerRun extends LoadResult {
  /** Pushes found in the queue, the jobs carrying them, and distinct events among them. */
  queued: number;
  jobs: number;
  distinct: number;
}

async function serverRun(mode: 'plain' | 'safe', file: string): Promise<ServerRun> {
  const port = await freePort();
  const prefix = `bench-ingest-${process.pid}-${mode}-${Date.now()}`;
  const profile = values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] : [];
  const server = startNode(
    ['src/cli.ts', 'serve'],
    {
      ...BENCH_WECHAT,
      ...(mode === 'plain' ? { WECHAT_ENCODING_AES_KEY: '' } : {}),
      DATABASE_URL: process.env.DATABASE_URL ?? 'postgresql://root@127.0.0.1:5432/postgres',
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      HOST: '127.0.0.1',
      PORT: String(port),
      // The default level: what a deployment runs (its log lines are part of the cost per push).
      LOG_LEVEL: 'info',
      SCHEDULER_ENABLED: 'false',
    },
    profile,
  );
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('events', { connection, prefix });
  try {
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, server);
    const result = await load(file, `http://127.0.0.1:${port}`);
    // /wx group-commits pushes into batch jobs: count pushes across jobs, and distinct events.
    const pushes = await queuedPushes(queue);
    const queued = pushes.length;
    const distinct = new Set(pushes.map(({ push }) => dedupeKey(push.message))).size;
    return { ...result, queued, jobs: new Set(pushes.map(({ job }) => job.id)).size, distinct };
  } finally {
    await stop(server);
    await queue.obliterate({ force: true });
    await redis.dropKeys(prefix);
    await queue.close();
    connection.disconnect();
  }
}

const table: string[] = [];
const summary: Record<
  string,
  {
    perSecond: number;
    p50: number;
    p99: number;
    ratio: number;
    redisRatio: number;
    lost: number;
    doubled: number;
  }
> = {};
const ceilings: number[] = [];
const redisCeilings: number[] = [];
const modes = (['plain', 'safe'] as const).filter((m) => values.modes.split(',').includes(m));
const byMode: Record<string, ServerRun[]> = Object.fromEntries(modes.map((m) => [m, []]));
for (let run = 0; run < runs; run++) {
  for (const mode of modes) {
    const file = writePushes(mode, run);
    // The ceilings take the same requests as the first mode measured.
    if (mode === modes[0]) {
      ceilings.push((await ceilingRun(file, false)).perSecond);
      redisCeilings.push((await ceilingRun(file, true)).perSecond);
      console.error(
        `run ${run + 1} ceilings: bare ${fmt(ceilings.at(-1)!)} req/s, with a Redis write ${fmt(redisCeilings.at(-1)!)} req/s`,
      );
    }
    const result = await serverRun(mode, file);
    byMode[mode]!.push(result);
    table.push(
      `run ${run + 1} ${mode.padEnd(5)} ${fmt(result.perSecond)} ev/s  ratio ${fmt(result.perSecond / redisCeilings[run]!, 2)} ` +
        `to Hono + Redis  p50 ${result.p50} ms  p99 ${result.p99} ms  ` +
        `non-2xx ${result.non2xx}  errors ${result.errors}  sent ${result.sent}  queued ${result.queued} in ${result.jobs} jobs`,
    );
    console.error(table.at(-1));
  }
}
await redis.stop();
for (const [mode, results] of Object.entries(byMode)) {
  const perSecond = median(results.map((r) => r.perSecond));
  // Every push answered 2xx must be queued (lost), and no push queued twice (doubled). Requests in
  // flight when the load stopped may be queued without their answer counted: queued >= ok.
  const lost = results.reduce((n, r) => n + Math.max(0, r.ok - r.queued), 0);
  const doubled = results.reduce((n, r) => n + (r.queued - r.distinct) + Math.max(0, r.distinct - r.sent), 0);
  summary[mode] = {
    perSecond,
    p50: median(results.map((r) => r.p50)),
    p99: median(results.map((r) => r.p99)),
    // Each run's ratio is to the ceilings measured in that run, minutes apart at most: the machine's
    // load drifts between runs, and a ratio of medians would mix runs.
    ratio: median(results.map((r, i) => r.perSecond / ceilings[i]!)),
    redisRatio: median(results.map((r, i) => r.perSecond / redisCeilings[i]!)),
    lost,
    doubled,
  };
}
console.log(`\nIngest benchmark (${runs} runs x ${seconds}s, ${values.connections} connections, medians)`);
console.log(`bare Hono ceiling      ${fmt(median(ceilings))} req/s`);
console.log(`Hono + 1 Redis write   ${fmt(median(redisCeilings))} req/s`);
for (const [mode, s] of Object.entries(summary)) {
  console.log(
    `/wx ${mode.padEnd(17)} ${fmt(s.perSecond)} ev/s  ratio ${fmt(s.redisRatio, 2)} to Hono + Redis, ${fmt(s.ratio, 2)} to bare  ` +
      `p50 ${s.p50} ms  p99 ${s.p99} ms  ` +
      `lost ${s.lost}  doubled ${s.doubled}`,
  );
}
