/**
 * `wxsync sync followers|blacklist|datacube|publisher|all [--from --to] [--inline]`: through the
 * queue by default (enqueue, or join the job already queued/running, then follow its progress), or
 * in this process with --inline. A progress bar on a TTY, a log line every few seconds otherwise,
 * then a summary; exit code 1 when a job failed.
 */
import type { Job } from 'bullmq';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { openQueue, QUEUE_NAMES } from '../../jobs/queues.ts';
import { findSyncJob } from '../../jobs/registry.ts';
import { parsePayload, runSyncJob, type SyncResult } from '../../jobs/runner.ts';
import { enqueueSync, followSyncJob } from '../../jobs/sync-queue.ts';
import { openSyncRuntime } from '../../jobs/sync-runtime.ts';
import { SYNC_JOB_NAMES, type SyncJobName, type SyncProgress } from '../../jobs/types.ts';
import { type Config, loadConfig } from '../config.ts';
import { InputError } from '../errors.ts';
import { createLogger } from '../logger.ts';
import { createRedis } from '../redis.ts';

interface SyncOptions {
  from?: string;
  to?: string;
  inline?: boolean;
}

/** Counters that are rows written, whatever the job calls them. */
const ROW_KEYS = [
  'inserted',
  'changed',
  'unchanged',
  'markedUnsubscribed',
  'added',
  'relisted',
  'confirmed',
  'removed',
  'summaryRows',
  'cumulateRows',
  'cpsDays',
  'settlements',
  'slots',
];
const num = (v: unknown) => (typeof v === 'number' ? v : 0);
const rowsOf = (counts: Record<string, unknown>) => ROW_KEYS.reduce((sum, k) => sum + num(counts[k]), 0);

export function jobsFor(what: string): SyncJobName[] {
  if (what === 'all') return [...SYNC_JOB_NAMES];
  if ((SYNC_JOB_NAMES as readonly string[]).includes(what)) return [what as SyncJobName];
  throw new InputError(`unknown sync "${what}": use one of ${[...SYNC_JOB_NAMES, 'all'].join(', ')}`);
}

/** The payload of each job; --from/--to apply to the dated jobs only. Validated here, before anything starts. */
export function payloadsFor(jobs: SyncJobName[], options: SyncOptions, now = new Date()) {
  const dated = jobs.some((j) => j === 'datacube' || j === 'publisher');
  if ((options.from || options.to) && !dated) {
    throw new InputError('--from/--to apply to datacube and publisher only');
  }
  return jobs.map((name) => {
    const def = findSyncJob(name);
    if (!def) throw new InputError(`unknown sync job ${name}`);
    const payload: Record<string, unknown> = { trigger: 'cli' };
    if (name === 'datacube' || name === 'publisher') {
      if (options.from) payload.from = options.from;
      if (options.to) payload.to = options.to;
    }
    def.resolve(parsePayload(def, payload), now); // throws InputError for bad dates / from > to
    return { name, payload };
  });
}

/** One progress display for one or more jobs: bars on a TTY, periodic lines otherwise. */
export class ProgressView {
  private readonly bars?: cliProgress.MultiBar;
  private readonly bar = new Map<string, cliProgress.SingleBar>();
  private readonly started = new Map<string, number>();
  private readonly lastLine = new Map<string, number>();

  constructor(
    tty: boolean,
    private readonly everyMs = 5_000,
  ) {
    if (tty) {
      this.bars = new cliProgress.MultiBar(
        {
          format:
            '{job} |{bar}| {percentage}% {value}/{total} | pages {pages} | profiles {profiles} | rows {rows} | {rate}/s | ETA {eta_formatted}',
          hideCursor: true,
          clearOnComplete: false,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      );
    }
  }

  update(p: SyncProgress): void {
    const first = this.started.get(p.job) ?? Date.now();
    this.started.set(p.job, first);
    const seconds = Math.max(0.001, (Date.now() - first) / 1000);
    const fields = {
      job: p.job.padEnd(9),
      pages: num(p.counts.pages),
      profiles: num(p.counts.profiles),
      rows: rowsOf(p.counts),
      // The first second's rate is noise (the first update can land microseconds after the start).
      rate: seconds < 1 ? '-' : Math.round(p.done / seconds),
    };
    const total = p.total ?? Math.max(p.done, 1);
    if (this.bars) {
      let bar = this.bar.get(p.job);
      if (!bar) {
        bar = this.bars.create(total, 0, fields);
        this.bar.set(p.job, bar);
      }
      bar.setTotal(total);
      bar.update(p.done, fields);
      return;
    }
    const now = Date.now();
    if (now - (this.lastLine.get(p.job) ?? 0) < this.everyMs && p.phase !== 'done') return;
    this.lastLine.set(p.job, now);
    const pct = p.total ? ` (${Math.floor((100 * p.done) / p.total)}%)` : '';
    console.log(
      `${p.job}: ${p.phase} ${p.done}${p.total ? `/${p.total}` : ''}${pct}, pages ${fields.pages}, profiles ${fields.profiles}, rows ${fields.rows}, ${fields.rate}/s`,
    );
  }

  stop(): void {
    this.bars?.stop();
  }
}

export type Outcome = { name: SyncJobName; result?: SyncResult; error?: string; note?: string };

/**
 * Enqueues each job (or joins the one already queued or running), follows them all to their end
 * through `view`, and returns one outcome per job (a failed job is an outcome, not a throw).
 * `wxsync sync` and `wxsync demo` both run their syncs this way.
 */
export async function runThroughQueue(
  config: Pick<Config, 'REDIS_URL' | 'QUEUE_PREFIX'>,
  jobs: { name: SyncJobName; payload: Record<string, unknown> }[],
  view: ProgressView,
  say: (line: string) => void = console.log,
): Promise<Outcome[]> {
  const redis = createRedis(config.REDIS_URL, 'service', 'wxsync-sync-cli');
  const queue = openQueue(QUEUE_NAMES.sync, redis, config.QUEUE_PREFIX);
  try {
    const enqueued: { name: SyncJobName; job: Job; joined: boolean }[] = [];
    for (const { name, payload } of jobs) {
      const { job, joined } = await enqueueSync(queue, name, payload);
      say(
        joined
          ? `${name}: joining job ${job.id} (already queued or running)`
          : `${name}: enqueued job ${job.id}`,
      );
      enqueued.push({ name, job, joined });
    }
    if ((await queue.getWorkersCount()) === 0) {
      say('no worker is running yet: the jobs wait for `wxsync worker` (or use --inline)');
    }
    const settled = await Promise.allSettled(
      enqueued.map(({ job }) => followSyncJob(job, redis, config.QUEUE_PREFIX, (p) => view.update(p))),
    );
    return settled.map((s, i) => {
      const { name, joined } = enqueued[i] as (typeof enqueued)[number];
      const note = joined ? 'joined a run already queued' : undefined;
      return s.status === 'fulfilled'
        ? { name, result: s.value, note }
        : { name, error: s.reason instanceof Error ? s.reason.message : String(s.reason) };
    });
  } finally {
    await queue.close();
    await redis.quit().catch(() => undefined);
  }
}

function printSummary(outcomes: Outcome[], startedAt: number): void {
  console.log(`\nsync summary (${((Date.now() - startedAt) / 1000).toFixed(1)} s):`);
  for (const o of outcomes) {
    if (o.result) {
      const counts = Object.entries(o.result.counts)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      const resumed = o.result.resumed ? `, resumed (attempt ${o.result.attempts})` : '';
      console.log(
        `  ${o.name.padEnd(9)} ok      run #${o.result.runId} in ${(o.result.durationMs / 1000).toFixed(1)} s${resumed}${o.note ? `, ${o.note}` : ''}\n            ${counts}`,
      );
    } else {
      console.log(`  ${o.name.padEnd(9)} FAILED  ${o.error}`);
    }
  }
  const failed = outcomes.filter((o) => o.error).length;
  console.log(failed ? `${failed} of ${outcomes.length} failed` : 'all succeeded');
}

export function registerSyncCommands(program: Command): void {
  program
    .command('sync')
    .description('run a sync now: followers, blacklist, datacube, publisher or all')
    .argument('<what>', `${[...SYNC_JOB_NAMES, 'all'].join(' | ')}`)
    .option('--from <YYYY-MM-DD>', 'first day (datacube, publisher); default yesterday (publisher: 7 days)')
    .option('--to <YYYY-MM-DD>', 'last day (datacube, publisher); default yesterday, Beijing time')
    .option('--inline', 'run in this process instead of through the queue and a worker')
    .action(async (what: string, options: SyncOptions) => {
      const jobs = payloadsFor(jobsFor(what), options);
      const config = loadConfig();
      const log = createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL, {
        name: 'wxsync-sync',
      });
      const view = new ProgressView(process.stdout.isTTY === true);
      const startedAt = Date.now();
      const outcomes: Outcome[] = [];
      try {
        if (options.inline) {
          const runtime = openSyncRuntime(config, log);
          try {
            for (const { name, payload } of jobs) {
              const def = findSyncJob(name);
              if (!def) continue;
              try {
                const result = await runSyncJob(def, payload, runtime.deps, {
                  progress: (p) => view.update(p),
                });
                outcomes.push({ name, result });
              } catch (error) {
                outcomes.push({ name, error: error instanceof Error ? error.message : String(error) });
              }
            }
          } finally {
            await runtime.close();
          }
        } else {
          outcomes.push(...(await runThroughQueue(config, jobs, view)));
        }
      } finally {
        view.stop();
      }
      printSummary(outcomes, startedAt);
      if (outcomes.some((o) => o.error)) process.exitCode = 1;
    });
}
