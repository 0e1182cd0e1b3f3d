/**
 * `wxsync sync followers|blacklist|datacube|publisher|all [--from --to] [--mode] [--force] [--inline]`:
 * through the queue by default (enqueue, or join the job queued/running with the same parameters,
 * or queue behind one with other parameters; then follow its progress), or in this process with
 * --inline. A progress bar on a TTY, a log line every few seconds otherwise, then a summary; exit
 * code 1 when a job failed, 75 when a run paused on (or was skipped for) WeChat's daily quota.
 */
import type { Command } from 'commander';
import { findSyncJob } from '../../jobs/registry.ts';
import { runSyncJob } from '../../jobs/runner.ts';
import { openSyncRuntime } from '../../jobs/sync-runtime.ts';
import { type Config, loadConfig } from '../config.ts';
import { errorMessage, InputError } from '../errors.ts';
import { createLogger, type Log } from '../logger.ts';
import { openQueue, QUEUE_NAMES } from '../queues.ts';
import { type Outcome, ProgressView, runThroughQueue } from '../runtime/progress.ts';
import { parsePayload } from '../sync/contract.ts';
import { enqueueResume } from '../sync/queue.ts';
import { QuotaShortError, SyncPausedError, stoppedResult } from '../sync/quota.ts';
import { contractOf, datedJobs, SYNC_CONTRACTS, SYNC_JOB_NAMES, type SyncJobName } from '../sync/registry.ts';

type SyncOptions = { from?: string; to?: string; inline?: boolean } & Record<string, unknown>;

export function jobsFor(what: string): SyncJobName[] {
  if (what === 'all') return [...SYNC_JOB_NAMES];
  if ((SYNC_JOB_NAMES as readonly string[]).includes(what)) return [what as SyncJobName];
  throw new InputError(`unknown sync "${what}": use one of ${[...SYNC_JOB_NAMES, 'all'].join(', ')}`);
}

/** Every payload option some contract declares (besides the range), once each. */
const extraOptions = () => [
  ...new Map(SYNC_CONTRACTS.flatMap((c) => contractOf(c.name).options ?? []).map((o) => [o.key, o])).values(),
];

/**
 * The payload of each job: --from/--to go to the jobs whose contract takes a range, other options
 * to the jobs that declare them; an option none of the chosen jobs takes is refused. Validated
 * here, before anything starts.
 */
export function payloadsFor(jobs: SyncJobName[], options: SyncOptions, now = new Date()) {
  const defs = jobs.map(contractOf);
  if ((options.from || options.to) && !defs.some((d) => d.range)) {
    throw new InputError(`--from/--to apply to ${datedJobs().join(' and ')} only`);
  }
  for (const option of extraOptions()) {
    if (
      options[option.key] !== undefined &&
      !defs.some((d) => d.options?.some((o) => o.key === option.key))
    ) {
      const takers = SYNC_CONTRACTS.filter((c) =>
        contractOf(c.name).options?.some((o) => o.key === option.key),
      );
      throw new InputError(
        `${option.flag.split(' ')[0]} applies to ${takers.map((c) => c.name).join(' and ')} only`,
      );
    }
  }
  return defs.map((def) => {
    const name = def.name as SyncJobName;
    const payload: Record<string, unknown> = { trigger: 'cli' };
    if (def.range) {
      if (options.from) payload.from = options.from;
      if (options.to) payload.to = options.to;
    }
    for (const option of def.options ?? []) {
      if (options[option.key] !== undefined) payload[option.key] = options[option.key];
    }
    def.resolve(parsePayload(def, payload), now); // throws InputError for bad dates / from > to
    return { name, payload };
  });
}

/** EX_TEMPFAIL (sysexits.h): a paused or skipped run; trying again after the quota reset works. */
export const EXIT_TEMPFAIL = 75;

function printSummary(outcomes: Outcome[], startedAt: number): void {
  console.log(`\nsync summary (${((Date.now() - startedAt) / 1000).toFixed(1)} s):`);
  for (const o of outcomes) {
    const r = o.result;
    if (r?.status === 'paused') {
      console.log(
        `  ${o.name.padEnd(9)} PAUSED  ${r.reason}${r.pause?.resumeJobId ? ` (job ${r.pause.resumeJobId})` : ''}`,
      );
    } else if (r?.status === 'skipped') {
      console.log(`  ${o.name.padEnd(9)} SKIPPED ${r.reason}`);
    } else if (r?.status === 'noop') {
      console.log(
        `  ${o.name.padEnd(9)} ok      run #${r.runId} had already finished: nothing left to resume`,
      );
    } else if (r) {
      const counts = Object.entries(r.counts)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      const resumed = r.resumed ? `, resumed (attempt ${r.attempts})` : '';
      console.log(
        `  ${o.name.padEnd(9)} ok      run #${r.runId} in ${(r.durationMs / 1000).toFixed(1)} s${resumed}${o.note ? `, ${o.note}` : ''}\n            ${counts}`,
      );
    } else {
      console.log(`  ${o.name.padEnd(9)} FAILED  ${o.error}`);
    }
  }
  const failed = outcomes.filter((o) => o.error).length;
  const waiting = outcomes.filter(
    (o) => o.result?.status === 'paused' || o.result?.status === 'skipped',
  ).length;
  console.log(
    failed
      ? `${failed} of ${outcomes.length} failed`
      : waiting
        ? `${waiting} of ${outcomes.length} waiting for WeChat's daily quota (exit code ${EXIT_TEMPFAIL})`
        : 'all succeeded',
  );
}

/** Exit code of a `sync`: 1 if a job failed, 75 if one paused or was skipped for quota, else 0. */
export function exitCodeOf(outcomes: Outcome[]): number {
  if (outcomes.some((o) => o.error)) return 1;
  if (outcomes.some((o) => o.result?.status === 'paused' || o.result?.status === 'skipped'))
    return EXIT_TEMPFAIL;
  return 0;
}

/**
 * Runs the jobs in this process, one after the other. A paused run gets the same delayed resume
 * job a worker would add (00:05 Beijing), so a worker picks it up after the reset.
 */
async function runInline(
  config: Config,
  log: Log,
  jobs: { name: SyncJobName; payload: Record<string, unknown> }[],
  view: ProgressView,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const runtime = openSyncRuntime(config, log);
  const queue = openQueue(QUEUE_NAMES.sync, runtime.deps.redis, config.QUEUE_PREFIX);
  try {
    for (const { name, payload } of jobs) {
      const def = findSyncJob(name);
      if (!def) continue;
      try {
        const result = await runSyncJob(def, payload, runtime.deps, { progress: (p) => view.update(p) });
        outcomes.push({ name, result });
      } catch (error) {
        if (error instanceof SyncPausedError) {
          const id = await enqueueResume(queue, name, payload, error).catch(() => undefined);
          outcomes.push({ name, result: stoppedResult(name, error, id) });
        } else if (error instanceof QuotaShortError) {
          outcomes.push({ name, result: stoppedResult(name, error) });
        } else {
          outcomes.push({ name, error: errorMessage(error) });
        }
      }
    }
  } finally {
    await queue.close();
    await runtime.close();
  }
  return outcomes;
}

export function registerSyncCommands(program: Command): void {
  const command = program
    .command('sync')
    .description(`run a sync now: ${SYNC_JOB_NAMES.join(', ')} or all`)
    .argument('<what>', `${[...SYNC_JOB_NAMES, 'all'].join(' | ')}`);
  const dated = datedJobs();
  const defaults = dated.map(
    (name) => `${name} ${contractOf(name).range?.defaultDays ?? 1} day(s) ending yesterday`,
  );
  command
    .option('--from <YYYY-MM-DD>', `first day (${dated.join(', ')}); default: ${defaults.join(', ')}`)
    .option('--to <YYYY-MM-DD>', `last day (${dated.join(', ')}); default yesterday, Beijing time`);
  for (const option of extraOptions()) command.option(option.flag, option.description);
  command
    .option('--inline', 'run in this process instead of through the queue and a worker')
    .addHelpText(
      'after',
      `\nExit codes: 0 done, 1 a job failed, ${EXIT_TEMPFAIL} a run paused on WeChat's daily quota (45009) or was\nskipped because its planned calls exceed what is left today; the output says when it resumes.`,
    )
    .action(async (what: string, options: SyncOptions) => {
      const jobs = payloadsFor(jobsFor(what), options);
      const config = loadConfig();
      const log = createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL, {
        name: 'wxsync-sync',
      });
      const view = new ProgressView(process.stdout.isTTY === true);
      const startedAt = Date.now();
      let outcomes: Outcome[] = [];
      try {
        outcomes = options.inline
          ? await runInline(config, log, jobs, view)
          : await runThroughQueue(config, jobs, view);
      } finally {
        view.stop();
      }
      printSummary(outcomes, startedAt);
      process.exitCode = exitCodeOf(outcomes);
    });
}
