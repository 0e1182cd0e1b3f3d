/**
 * `wxsync runs [--job x] [--limit n]`: recent sync_runs as a table. Status is one of running,
 * retrying, paused, succeeded, failed, skipped (see sync_runs.status); `next` is when a retrying
 * run's next attempt or a paused run's resume is due (UTC).
 */
import type { Command } from 'commander';
import { ConfigSchema, loadConfig } from '../config.ts';
import { createDb } from '../db/client.ts';
import { listRuns, type SyncRunRow } from '../db/sync-runs.ts';
import { InputError } from '../errors.ts';

const RunsConfig = ConfigSchema.pick({ DATABASE_URL: true });

const duration = (r: SyncRunRow) => {
  const end = r.finishedAt ?? (r.status === 'running' || r.status === 'retrying' ? new Date() : undefined);
  if (!end) return '';
  const s = (end.getTime() - r.startedAt.getTime()) / 1000;
  return s < 120 ? `${s.toFixed(1)}s` : `${Math.floor(s / 60)}m${Math.round(s % 60)}s`;
};

const compactCounts = (counts: Record<string, unknown>) =>
  Object.entries(counts)
    .filter(([, v]) => v !== 0)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

/** Rows as a plain padded table (last column unpadded, so long counts wrap naturally). */
export function formatRunsTable(runs: SyncRunRow[]): string {
  const header = [
    'id',
    'job',
    'status',
    'trigger',
    'started',
    'took',
    'tries',
    'next',
    'params',
    'counts / error',
  ];
  const stamp = (d: Date) => d.toISOString().replace('T', ' ').slice(0, 19);
  const rows = runs.map((r) => [
    String(r.id),
    r.job,
    r.status,
    r.trigger,
    stamp(r.startedAt),
    duration(r),
    String(r.attempts),
    // retrying: BullMQ's next attempt; paused: the resume after the quota reset.
    r.nextAttemptAt ? stamp(r.nextAttemptAt) : '',
    compactCounts(r.params),
    [compactCounts(r.counts), r.error ? `error: ${r.error}` : ''].filter(Boolean).join(' | '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function registerRunsCommands(program: Command): void {
  program
    .command('runs')
    .description('list recent sync runs (sync_runs), newest first')
    .option('--job <name>', 'only this job (followers, blacklist, datacube, publisher)')
    .option('--limit <n>', 'how many runs', '20')
    .action(async (options: { job?: string; limit: string }) => {
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw new InputError('--limit must be 1..1000');
      const db = createDb(loadConfig(process.env, RunsConfig).DATABASE_URL, { poolSize: 1 });
      try {
        const runs = await listRuns(db, { job: options.job, limit });
        console.log(runs.length ? formatRunsTable(runs) : 'no sync runs yet');
      } finally {
        await db.$disconnect();
      }
    });
}
