/**
 * Campaign-burst benchmark: seconds from 关注 to a stored profile, end to end.
 *
 *   npm run bench:burst [-- --events 10000 --rate 1000 --latency 100 --runs 1]
 *
 * Four processes: this one (the pusher and the measurement), the fake platform (`wxsync
 * fake-wechat`, every API call answered after --latency ms), `wxsync serve` and `wxsync worker`,
 * against a fresh database and a fresh queue prefix per run. The fake platform gets --events new
 * followers; this process then pushes their subscribe events through /wx exactly as WeChat would
 * (signed, safe mode, retried after 5 s without an answer), open loop at --rate per second.
 *
 * What is measured, per event: from the moment its push was sent to `follower_events.processed_at`
 * of its row, which the worker sets only after the follower's profile row is written (so it bounds
 * "profile stored" from above). Both clocks are this machine's wall clock (Date.now() here,
 * new Date() in the worker). While the burst runs the only extra load is one count(*) every 250 ms;
 * the per-event timestamps are read once, at the end.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type CallsSnapshot, type FakeEndpoint, FakeState, Pusher } from '../src/fake-wechat/index.ts';
import { fmt, median, percentile } from './figures.ts';
import { BENCH_ADMIN_TOKEN, BENCH_WECHAT, benchDatabase, benchRedis, startFakeProcess } from './services.ts';
import { freePort, startNode, stop, waitForHttp } from './support.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '10000' },
    rate: { type: 'string', default: '1000' },
    latency: { type: 'string', default: '100' },
    runs: { type: 'string', default: '1' },
    /** Give up on events not stored this many seconds after the last push. */
    timeout: { type: 'string', default: '120' },
    /** Default: a private redis-server started for the benchmark (see benchRedis). */
    'redis-url': { type: 'string' },
    'admin-url': {
      type: 'string',
      default: process.env.TEST_DATABASE_URL ?? 'postgresql://root@127.0.0.1:5432/postgres',
    },
  },
});
const events = Number(values.events);
const rate = Number(values.rate);
const latency = Number(values.latency);
const runs = Number(values.runs);
const timeoutS = Number(values.timeout);
for (const [name, n] of Object.entries({ events, rate, runs, timeout: timeoutS })) {
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
}
if (!Number.isInteger(latency) || latency < 0) throw new Error('--latency must be an integer >= 0');

const redis = await benchRedis(values['redis-url']);
const redisUrl = redis.url;

/** WeChat: no answer within 5 s means a retry of the identical request, 3 retries in all. */
const PUSH_TIMEOUT_MS = 5000;
const PUSH_RETRIES = 3;

interface Push {
  openid: string;
  url: string;
  body: string;
  /** Wall-clock ms when the first attempt left. */
  sentAt: number;
  /** Wall-clock ms when a 2xx answer arrived (0: never). */
  acceptedAt: number;
  attempts: number;
}

interface RunResult {
  /** Push sent -> follower_events.processed_at, ms, one per stored event. */
  latencies: number[];
  accepted: number;
  /** Answer time of /wx (2xx), ms. */
  answerMs: number[];
  pushSeconds: number;
  /** Last event stored, seconds after the last push was sent. */
  drainSeconds: number;
  /** Events stored / (last stored - first sent). */
  appliedPerSecond: number;
  profileCalls: number;
  /** Profiles asked for: openids over all batchget calls, plus user/info calls. */
  profilesAsked: number;
  otherCalls: Record<string, number>;
  lost: number;
  doubled: number;
  worker: WorkerMetrics;
  timeline: number[];
  /** CPU seconds each process used from the first push to the last stored event. */
  cpu: { serve: number; worker: number; fake: number };
}

interface WorkerMetrics {
  batches: number;
  avgBatch: number;
  /** Batches by what sent them (idle, full, wait). */
  byTrigger: Record<string, number>;
}

/** CPU seconds (user + system) a child process has used so far, from /proc (Linux). */
function cpuSeconds(child: { pid?: number }): number {
  try {
    const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // Fields 14 and 15 of stat (utime, stime), counted from after the command name.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

const json = async <T>(response: Response | Promise<Response>): Promise<T> => {
  const r = await response;
  if (!r.ok) throw new Error(`${r.url}: HTTP ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
};

async function send(push: Push): Promise<void> {
  push.sentAt = Date.now();
  for (let attempt = 0; attempt <= PUSH_RETRIES; attempt++) {
    push.attempts++;
    try {
      const response = await fetch(push.url, {
        method: 'POST',
        headers: { 'content-type': 'text/xml' },
        body: push.body,
        signal: AbortSignal.timeout(PUSH_TIMEOUT_MS),
      });
      await response.arrayBuffer();
      if (response.ok) {
        push.acceptedAt = Date.now();
        return;
      }
    } catch {
      // Timeout or connection error: WeChat sends the same request again.
    }
  }
}

/** Sends every push on its own schedule (open loop: a slow server does not slow the pusher). */
async function pushAll(pushes: Push[]): Promise<void> {
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  let next = 0;
  while (next < pushes.length) {
    const due = Math.min(pushes.length, Math.floor(((performance.now() - started) * rate) / 1000) + 1);
    while (next < due) inFlight.push(send(pushes[next++]!));
    const wait = started + (next * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await Promise.all(inFlight);
}

/** Sum and count of the worker's batch-size histogram, scraped from its /metrics. */
async function workerMetrics(url: string): Promise<WorkerMetrics> {
  const text = await (await fetch(url, { headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` } })).text();
  /** Sum of a metric over its label sets, and per value of `label`. */
  const values = (name: string, label: string) => {
    const byLabel: Record<string, number> = {};
    let total = 0;
    for (const line of text.split('\n')) {
      if (!line.startsWith(`${name} `) && !line.startsWith(`${name}{`)) continue;
      const n = Number(line.split(' ').at(-1));
      total += n;
      const key = line.match(new RegExp(`${label}="([^"]*)"`))?.[1] ?? '';
      byLabel[key] = (byLabel[key] ?? 0) + n;
    }
    return { total, byLabel };
  };
  const count = values('wxsync_events_batch_size_count', 'trigger');
  const sum = values('wxsync_events_batch_size_sum', 'trigger');
  return { batches: count.total, avgBatch: sum.total / count.total, byTrigger: count.byLabel };
}

async function oneRun(run: number): Promise<RunResult> {
  const db = await benchDatabase(values['admin-url'], `wxsync_bench_burst_${process.pid}_${run}`);
  const prefix = `bench-burst-${process.pid}-${run}`;
  const { url: fakeUrl, child: fake } = await startFakeProcess(0, latency).catch(async (error: unknown) => {
    await db.drop();
    throw error;
  });
  const [serverPort, metricsPort] = [await freePort(), await freePort()];
  const env = {
    ...BENCH_WECHAT,
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    WECHAT_API_BASE: fakeUrl,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    SCHEDULER_ENABLED: 'false',
    ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
  };
  const server = startNode(['src/cli.ts', 'serve'], { ...env, PORT: String(serverPort) });
  const worker = startNode(['src/cli.ts', 'worker'], { ...env, WORKER_METRICS_PORT: String(metricsPort) });
  try {
    await waitForHttp(`http://127.0.0.1:${serverPort}/healthz`, server);
    await waitForHttp(`http://127.0.0.1:${metricsPort}/healthz`, worker);

    // New followers on the platform (so user/info and batchget know them), then their pushes,
    // built and signed up front so the pusher only sends.
    const { openids } = await json<{ openids: string[] }>(
      fetch(`${fakeUrl}/__fake/followers`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ n: events }),
      }),
    );
    const pusher = new Pusher(new FakeState({ followers: 0, appId: BENCH_WECHAT.WECHAT_APP_ID }), {
      callbackUrl: `http://127.0.0.1:${serverPort}/wx`,
      token: BENCH_WECHAT.WECHAT_TOKEN,
      encodingAesKey: BENCH_WECHAT.WECHAT_ENCODING_AES_KEY,
      mode: 'safe',
    });
    const createTime = Math.floor(Date.now() / 1000);
    const pushes: Push[] = openids.map((openid) => {
      const { url, body } = pusher.build(
        openid,
        { MsgType: 'event', Event: 'subscribe', EventKey: '' },
        createTime,
      );
      return { openid, url, body, sentAt: 0, acceptedAt: 0, attempts: 0 };
    });
    const callsBefore = await json<CallsSnapshot>(fetch(`${fakeUrl}/__fake/calls`));
    const cpuBefore = [server, worker, fake].map(cpuSeconds);

    const started = Date.now();
    const pushing = pushAll(pushes);
    // Progress: one cheap count every 250 ms, until every accepted push is stored or time is up.
    let lastPushSent = 0;
    let pushed = false;
    void pushing.then(() => {
      pushed = true;
      lastPushSent = Math.max(...pushes.map((p) => p.sentAt));
    });
    /** Events stored, sampled each second since the first push (shows a stall or a backlog). */
    const timeline: number[] = [];
    for (;;) {
      await new Promise((r) => setTimeout(r, 250));
      const stored = await db.count(
        'SELECT count(*) AS n FROM follower_events WHERE processed_at IS NOT NULL',
      );
      const second = Math.floor((Date.now() - started) / 1000);
      while (timeline.length <= second) timeline.push(stored);
      if (pushed && stored >= pushes.filter((p) => p.acceptedAt > 0).length) break;
      if (pushed && Date.now() - lastPushSent > timeoutS * 1000) break;
    }
    await pushing;
    const [serverCpu, workerCpu, fakeCpu] = [server, worker, fake].map(
      (p, i) => cpuSeconds(p) - cpuBefore[i]!,
    );

    const rows = await db.query<{
      openid: string;
      n: string;
      processed: string | null;
      subscribed: boolean | null;
    }>(
      `SELECT e.openid, count(*) AS n, max(e.processed_at) AS processed, f.subscribe AS subscribed
       FROM follower_events e LEFT JOIN followers f USING (openid)
       GROUP BY e.openid, f.subscribe`,
    );
    const byOpenid = new Map(rows.map((r) => [r.openid, r]));
    const callsAfter = await json<CallsSnapshot>(fetch(`${fakeUrl}/__fake/calls`));
    const calls: Record<string, number> = {};
    for (const [name, n] of Object.entries(callsAfter.counts) as [FakeEndpoint, number][]) {
      const d = n - (callsBefore.counts[name] ?? 0);
      if (d > 0) calls[name] = d;
    }

    const latencies: number[] = [];
    let lost = 0;
    let doubled = 0;
    let lastStored = 0;
    for (const push of pushes) {
      const row = byOpenid.get(push.openid);
      if (push.acceptedAt === 0) continue;
      if (!row || row.processed === null || row.subscribed !== true) {
        lost++;
        continue;
      }
      doubled += Number(row.n) - 1;
      const storedAt = new Date(row.processed).getTime();
      lastStored = Math.max(lastStored, storedAt);
      latencies.push(storedAt - push.sentAt);
    }
    // Rows for events nobody pushed would be doubles too (there are none unless something invents them).
    const pushedOpenids = new Set(pushes.map((p) => p.openid));
    doubled += rows.filter((r) => !pushedOpenids.has(r.openid)).length;
    const firstSent = Math.min(...pushes.map((p) => p.sentAt));
    const { 'user/info': info = 0, 'user/info/batchget': batchget = 0, ...otherCalls } = calls;
    return {
      latencies,
      accepted: pushes.filter((p) => p.acceptedAt > 0).length,
      answerMs: pushes.filter((p) => p.acceptedAt > 0).map((p) => p.acceptedAt - p.sentAt),
      pushSeconds: (lastPushSent - firstSent) / 1000,
      drainSeconds: (lastStored - lastPushSent) / 1000,
      appliedPerSecond: latencies.length / ((lastStored - firstSent) / 1000),
      profileCalls: info + batchget,
      profilesAsked:
        info + (callsAfter.items['user/info/batchget'] ?? 0) - (callsBefore.items['user/info/batchget'] ?? 0),
      otherCalls,
      lost,
      doubled,
      worker: await workerMetrics(`http://127.0.0.1:${metricsPort}/metrics`),
      timeline,
      cpu: { serve: serverCpu!, worker: workerCpu!, fake: fakeCpu! },
    };
  } finally {
    await Promise.all([stop(worker), stop(server), stop(fake)]);
    await db.drop();
    await redis.dropKeys(prefix);
  }
}

const results: RunResult[] = [];
for (let run = 0; run < runs; run++) {
  const r = await oneRun(run);
  results.push(r);
  const s = (ms: number) => fmt(ms / 1000, 2);
  console.error(
    `run ${run + 1}: p50 ${s(percentile(r.latencies, 50))} s  p95 ${s(percentile(r.latencies, 95))} s  ` +
      `p99 ${s(percentile(r.latencies, 99))} s  max ${s(Math.max(...r.latencies))} s  ` +
      `drain ${fmt(r.drainSeconds, 2)} s after the last push  ${fmt(r.appliedPerSecond)} events/s applied  ` +
      `${r.profileCalls} profile calls  lost ${r.lost}  doubled ${r.doubled}  ` +
      `batches ${r.worker.batches} (avg ${fmt(r.worker.avgBatch, 1)} events, ${JSON.stringify(r.worker.byTrigger)})  ` +
      `CPU s: serve ${fmt(r.cpu.serve, 1)} worker ${fmt(r.cpu.worker, 1)} fake ${fmt(r.cpu.fake, 1)}`,
  );
  console.error(`  stored by second: ${r.timeline.map((n) => fmt(n)).join(' ')}`);
}

await redis.stop();
const med = (pick: (r: RunResult) => number) => median(results.map(pick));
const sec = (pick: (r: RunResult) => number) => `${fmt(med(pick) / 1000, 2)} s`;
const profileCalls = med((r) => r.profileCalls);
console.log(
  `\nBurst benchmark: ${fmt(events)} subscribes pushed at ${fmt(rate)}/s (safe mode), fake API latency ` +
    `${latency} ms, ${runs} run${runs > 1 ? 's' : ''} (medians)`,
);
console.log(
  `accepted by /wx      ${fmt(med((r) => r.accepted))} of ${fmt(events)} in ${fmt(
    med((r) => r.pushSeconds),
    2,
  )} s  (answer p50 ${fmt(med((r) => percentile(r.answerMs, 50)))} ms, p99 ${fmt(med((r) => percentile(r.answerMs, 99)))} ms)`,
);
console.log(
  `push -> stored       p50 ${sec((r) => percentile(r.latencies, 50))}  p95 ${sec((r) => percentile(r.latencies, 95))}  ` +
    `p99 ${sec((r) => percentile(r.latencies, 99))}  max ${sec((r) => Math.max(...r.latencies))}`,
);
console.log(
  `last stored          ${fmt(
    med((r) => r.drainSeconds),
    2,
  )} s after the last push`,
);
console.log(`applied              ${fmt(med((r) => r.appliedPerSecond))} events/s`);
console.log(
  `profile calls        ${fmt(profileCalls)} (${fmt(events / Math.max(1, profileCalls), 1)} events per call; ` +
    `other calls: ${JSON.stringify(results.at(-1)?.otherCalls ?? {})})`,
);
console.log(
  `profiles asked for   ${fmt(med((r) => r.profilesAsked))} (${fmt(med((r) => r.profilesAsked) / events, 2)} per event)`,
);
console.log(
  `worker batches       ${fmt(med((r) => r.worker.batches))} (avg ${fmt(
    med((r) => r.worker.avgBatch),
    1,
  )} events)`,
);
console.log(
  `lost ${results.reduce((n, r) => n + r.lost, 0)}  doubled ${results.reduce((n, r) => n + r.doubled, 0)} (all runs)`,
);
