/**
 * `wxsync demo`: the main job end to end in one process, against the fake WeChat platform with a
 * made-up account (the real account's credentials are never read: every WECHAT_* value here is
 * generated). Preflight, migrate, fake platform + server + workers, every sync through the queue,
 * a burst of signed safe-mode pushes through /wx, then the mirror compared with the platform.
 */
import { randomBytes, randomInt } from 'node:crypto';
import net from 'node:net';
import { startSyncWorker } from '../../jobs/sync-runtime.ts';
import { loadConfig } from '../config.ts';
import { createDb } from '../db/client.ts';
import { countFollowerEventsSince } from '../db/follower-events.ts';
import { migrateDeploy } from '../db/migrate.ts';
import { InputError, UnavailableError } from '../errors.ts';
import { type FakeWeChat, startFakeWeChat } from '../fake-wechat/index.ts';
import { createLogger } from '../logger.ts';
import { createRedis, deleteKeysUnder } from '../redis.ts';
import { type Outcome, ProgressView, runThroughQueue } from '../runtime/progress.ts';
import { startServer } from '../runtime/server.ts';
import { onShutdown } from '../runtime/shutdown.ts';
import { startEvents, startWorkers } from '../runtime/workers.ts';
import type { SyncJobName } from '../sync/registry.ts';
import { pushBurst } from './burst.ts';
import { compareMirror, type MirrorReport, pushCounts } from './mirror.ts';
import { checkRedis, chooseDatabase, describeUrl, pendingMigrations, refuseRealMirror } from './preflight.ts';

export interface DemoOptions {
  followers: number;
  blacklist: number;
  seed: string;
  statsDays: number;
  keepRunning: boolean;
  /** Overrides DATABASE_URL. */
  databaseUrl?: string;
  /** Never QUEUE_PREFIX from .env: the demo wipes its prefix at start. */
  queuePrefix: string;
  subscribes: number;
  unsubscribes: number;
  retries: number;
  verbose: boolean;
}

const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const APPLY_TIMEOUT_MS = 120_000;

const n = (v: number) => v.toLocaleString('en-US');
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const alnum = (length: number) => Array.from({ length }, () => ALNUM[randomInt(ALNUM.length)]).join('');

/** A made-up account in WeChat's formats, new for every run. */
function madeUpAccount() {
  return {
    WECHAT_APP_ID: `wx${randomBytes(8).toString('hex')}`,
    WECHAT_APP_SECRET: randomBytes(16).toString('hex'),
    WECHAT_TOKEN: alnum(24),
    WECHAT_ENCODING_AES_KEY: alnum(43),
  };
}

/** PORT when set, else 3000 when free (a stable dashboard address), else any free port. */
async function choosePort(envPort: string | undefined): Promise<number> {
  if (envPort !== undefined && envPort !== '') return Number(envPort);
  const free = await new Promise<boolean>((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(3000, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
  return free ? 3000 : 0;
}

/** Deletes every key under `prefix:` (queues, dedupe keys, token, locks of an earlier demo). */
async function wipePrefix(redisUrl: string, prefix: string): Promise<void> {
  const redis = createRedis(redisUrl, 'service', 'wxsync-demo-cleanup');
  try {
    await deleteKeysUnder(redis, prefix);
  } finally {
    await redis.quit().catch(() => undefined);
  }
}

async function preflight(databaseUrl: string | undefined, redisUrl: string) {
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new InputError('DATABASE_URL must be a postgresql:// URL');
  }
  if (!/^rediss?:\/\//.test(redisUrl)) throw new InputError('REDIS_URL must be a redis:// URL');
  const [pg, redis] = await Promise.allSettled([chooseDatabase(databaseUrl), checkRedis(redisUrl)]);
  if (pg.status === 'rejected' && redis.status === 'rejected') {
    const unreachable = [pg.reason, redis.reason].every((e) =>
      /not reachable|did not answer/.test(String(e)),
    );
    if (unreachable) {
      throw new UnavailableError(
        'PostgreSQL and Redis are not reachable: start them with `docker compose up -d postgres redis`, or set DATABASE_URL and REDIS_URL',
      );
    }
  }
  if (pg.status === 'rejected') throw pg.reason;
  if (redis.status === 'rejected') throw redis.reason;
  return pg.value;
}

function syncLine(o: Outcome): string {
  if (!o.result) return `${o.name} FAILED (${o.error})`;
  return `${o.name} ${secs(o.result.durationMs)}`;
}

export function printReport(
  r: MirrorReport,
  outcomes: Outcome[],
  extra: { dashboard: string; adminToken: string; keepRunning: boolean; elapsedMs: number; ok: boolean },
): void {
  const cmp = (c: MirrorReport['followers']) =>
    `stored ${n(c.stored)} ${c.match ? '=' : '!='} platform ${n(c.platform)}  ${c.match ? 'match' : `MISMATCH (${n(c.missing)} missing, ${n(c.extra)} extra)`}`;
  const lines = [
    '',
    `wxsync demo summary (${secs(extra.elapsedMs)})`,
    `  followers    ${cmp(r.followers)}`,
    `  subscribed   ${n(r.newStored.stored)} of ${n(r.newStored.expected)} new followers stored from their subscribe events`,
    `  unsubscribed ${n(r.goneFlagged.flagged)} of ${n(r.goneFlagged.expected)} leavers flagged (subscribe=false, unsubscribed_at set); ${n(r.unsubscribedRows)} ex-followers kept in all`,
    `  blacklist    ${cmp(r.blacklist)}`,
    `  events       ${n(r.events.accepted)} accepted, ${n(r.events.duplicates)} duplicates dropped (WeChat retries), ${n(r.events.rejected)} rejected; ${n(r.events.recorded)} recorded, ${n(r.events.applied)} applied by the worker`,
    `  statistics   ${r.stats.from}..${r.stats.to} (${r.stats.days} days): user_cumulate ${r.stats.cumulateDays} days, user_summary ${r.stats.summaryDays} days (${n(r.stats.summaryRows)} rows), publisher ${r.stats.publisherDays} days + ${n(r.stats.settlements)} settlements`,
    `  syncs        ${outcomes.map(syncLine).join(', ')}`,
    extra.keepRunning
      ? `  dashboard    ${extra.dashboard}  (log in with the admin token ${extra.adminToken})`
      : `  dashboard    stopped with the demo; run \`npm start -- --keep-running\` to browse it at ${extra.dashboard}`,
    extra.ok
      ? '  result       the mirror matches the platform'
      : '  result       MISMATCH: the mirror differs from the platform (see above)',
  ];
  console.log(lines.join('\n'));
}

export async function runDemo(options: DemoOptions): Promise<number> {
  const startedAt = Date.now();
  const tty = process.stdout.isTTY === true;
  const say = (line: string) => console.log(line);
  const redisUrl = process.env.REDIS_URL || DEFAULT_REDIS_URL;
  // Preflight first: when a service is down, its one line is the whole output.
  const database = await preflight(options.databaseUrl ?? (process.env.DATABASE_URL || undefined), redisUrl);
  await refuseRealMirror(database.url);
  say('wxsync demo: the main job end to end, on the fake WeChat platform with a made-up account');
  const pending = await pendingMigrations(database.url);
  if (pending.length) await migrateDeploy(database.url, { quiet: true });
  const schema = pending.length
    ? `${pending.length} migration${pending.length > 1 ? 's' : ''} applied in ${secs(Date.now() - startedAt)}`
    : 'schema up to date';
  say(
    `  PostgreSQL ${describeUrl(database.url)}${database.created ? ' (created)' : ''}, ${schema}; Redis ${new URL(redisUrl).host}, queue prefix ${options.queuePrefix}`,
  );
  await wipePrefix(redisUrl, options.queuePrefix);

  const account = madeUpAccount();
  const adminToken = randomBytes(18).toString('base64url');
  const seed = /^\d+$/.test(options.seed) ? Number(options.seed) : options.seed;
  const fake: FakeWeChat = await startFakeWeChat({
    followers: options.followers,
    // A blacklist is a small share of an account; a tiny demo account keeps most of its followers.
    blacklist: Math.min(options.blacklist, Math.floor(options.followers / 5)),
    statsDays: options.statsDays,
    seed,
    appId: account.WECHAT_APP_ID,
    appSecret: account.WECHAT_APP_SECRET,
    token: account.WECHAT_TOKEN,
    encodingAesKey: account.WECHAT_ENCODING_AES_KEY,
    push: { mode: 'safe' },
  });
  const platform = fake.state.summary();
  say(
    `  fake WeChat ${fake.url}: ${n(platform.followers)} followers, ${n(platform.blacklist)} blacklisted, statistics ${platform.statsFrom}..${platform.statsTo}, ${platform.profiles} profiles (seed ${options.seed}, ${fake.state.generationMs.toFixed(0)} ms)`,
  );

  const stops: (() => Promise<void>)[] = [() => fake.close()];
  let stopped: Promise<void> | undefined;
  const stopAll = () => {
    stopped ??= (async () => {
      for (const stop of [...stops].reverse()) await stop().catch(() => undefined);
    })();
    return stopped;
  };
  const interrupt = () => {
    console.error('\ninterrupted: stopping the demo');
    void stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  try {
    const config = loadConfig({
      ...account,
      DATABASE_URL: database.url,
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: options.queuePrefix,
      WECHAT_API_BASE: fake.url,
      HOST: '127.0.0.1',
      PORT: String(await choosePort(process.env.PORT)),
      ADMIN_TOKEN: adminToken,
      SCHEDULER_ENABLED: 'false',
      EVENT_WORKER_CONCURRENCY: process.env.EVENT_WORKER_CONCURRENCY,
      SYNC_BATCH_CONCURRENCY: process.env.SYNC_BATCH_CONCURRENCY,
    });
    const log = createLogger(options.verbose ? 'info' : 'warn', { name: 'wxsync-demo' });
    const server = await startServer(config, log);
    stops.push(() => server.close());
    fake.push.configure({ callbackUrl: `${server.url}/wx` });
    const workers = await startWorkers(config, log, { starters: [startEvents, startSyncWorker] });
    stops.push(() => workers.close());
    say(`  server ${server.url} (/wx in safe mode), workers: events + sync`);

    // 1. Every sync, through the queue and the worker, as `wxsync sync all` does.
    say('\nsyncing (through the queue):');
    const range = { from: platform.statsFrom, to: platform.statsTo };
    const jobs: { name: SyncJobName; payload: Record<string, unknown> }[] = [
      { name: 'followers', payload: { trigger: 'demo' } },
      { name: 'blacklist', payload: { trigger: 'demo' } },
      { name: 'datacube', payload: { trigger: 'demo', ...range } },
      { name: 'publisher', payload: { trigger: 'demo', ...range } },
    ];
    const view = new ProgressView(tty);
    let outcomes: Outcome[];
    try {
      outcomes = await runThroughQueue(config, jobs, view, (line) => say(`  ${line}`));
    } finally {
      view.stop();
    }
    for (const o of outcomes) say(`  ${syncLine(o)}`);

    // 2. A burst of pushes through /wx, then wait for the worker to apply every accepted one.
    const unsubscribes = Math.min(options.unsubscribes, Math.max(0, platform.followers - platform.blacklist));
    say(
      `\npushing ${options.subscribes} subscribes + ${unsubscribes} unsubscribes (+${Math.min(options.retries, options.subscribes)} WeChat retries) to /wx, signed, safe mode:`,
    );
    let lastLine = 0;
    const burstStarted = Date.now();
    const burst = await pushBurst(
      fake,
      { subscribes: options.subscribes, unsubscribes, retries: options.retries },
      (sent, total) => {
        if (sent === total || Date.now() - lastLine > 2_000) {
          lastLine = Date.now();
          say(`  pushed ${sent}/${total} in ${secs(Date.now() - burstStarted)}`);
        }
      },
    );
    if (burst.failed) say(`  ${burst.failed} pushes were not answered 2xx after WeChat's retries`);
    const db = createDb(config.DATABASE_URL, { poolSize: 2 });
    stops.push(() => db.$disconnect());
    const { accepted } = await pushCounts();
    const waitStarted = Date.now();
    let rows = await countFollowerEventsSince(db, burst.since);
    while (rows.applied < accepted && Date.now() - waitStarted < APPLY_TIMEOUT_MS) {
      await new Promise((r) => setTimeout(r, 250));
      rows = await countFollowerEventsSince(db, burst.since);
    }
    say(
      `  the worker applied ${rows.applied}/${accepted} accepted events in ${secs(Date.now() - waitStarted)}`,
    );

    // 3. The verdict.
    const report = await compareMirror(
      db,
      fake.state,
      { since: burst.since, gone: burst.gone, added: burst.added },
      { ...range, days: options.statsDays },
    );
    const ok = report.ok && outcomes.every((o) => o.result) && burst.failed === 0;
    printReport(report, outcomes, {
      dashboard: `${server.url}/admin/`,
      adminToken,
      keepRunning: options.keepRunning,
      elapsedMs: Date.now() - startedAt,
      ok,
    });

    if (options.keepRunning) {
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
      say(`\nserver, worker and fake platform keep running: open ${server.url}/admin/ ; Ctrl-C stops them`);
      await onShutdown(log, stopAll);
      say('stopped');
    }
    return ok ? 0 : 1;
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    await stopAll();
    // Nothing of the demo is left in Redis once it has ended (the database keeps the mirror).
    await wipePrefix(redisUrl, options.queuePrefix);
  }
}
