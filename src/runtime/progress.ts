/**
 * Following sync jobs to their end: one progress display (bars on a TTY, periodic lines otherwise)
 * and the enqueue-then-follow loop that `wxsync sync` and `wxsync demo` both run their syncs with.
 */
import type { Job } from 'bullmq';
import cliProgress from 'cli-progress';
import type { Config } from '../config.ts';
import { errorMessage } from '../errors.ts';
import { openQueue, QUEUE_NAMES } from '../queues.ts';
import { createRedis } from '../redis.ts';
import type { SyncProgress, SyncResult } from '../sync/contract.ts';
import { describeEnqueued, enqueueSync, followSyncJob } from '../sync/queue.ts';
import { rowsWritten as rowsOf, type SyncJobName } from '../sync/registry.ts';

const num = (v: unknown) => (typeof v === 'number' ? v : 0);

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
      rows: rowsOf(p.job, p.counts),
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
 * Enqueues each job (or joins the one queued or running with the same parameters), follows them all
 * to their end through `view`, and returns one outcome per job (a failed job is an outcome, not a
 * throw). `wxsync sync` and `wxsync demo` both run their syncs this way.
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
      const e = await enqueueSync(queue, name, payload);
      say(describeEnqueued(name, e));
      enqueued.push({ name, job: e.job, joined: e.joined });
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
        : { name, error: errorMessage(s.reason) };
    });
  } finally {
    await queue.close();
    await redis.quit().catch(() => undefined);
  }
}
