/**
 * `wxsync sync followers|blacklist|datacube|publisher|all [--from --to] [--inline]`: through the
 * queue by default (enqueue, or join the job already queued/running, then follow its progress), or
 * in this process with --inline. A progress bar on a TTY, a log line every few seconds otherwise,
 * then a summary; exit code 1 when a job failed.
 */
import type { Command } from 'commander';
import { findSyncJob } from '../../jobs/registry.ts';
import { runSyncJob } from '../../jobs/runner.ts';
import { openSyncRuntime } from '../../jobs/sync-runtime.ts';
import { loadConfig } from '../config.ts';
import { errorMessage, InputError } from '../errors.ts';
import { createLogger } from '../logger.ts';
import { type Outcome, ProgressView, runThroughQueue } from '../runtime/progress.ts';
import { parsePayload } from '../sync/contract.ts';
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
                outcomes.push({ name, error: errorMessage(error) });
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
