/**
 * `wxsync quota`: for every API path wxsync calls, today's daily limit, use and remainder as WeChat
 * reports them (openapi/quota/get); a table on a terminal, `--json` for scripts. `wxsync quota
 * clear <path>` / `--all` spend one of WeChat's monthly clears (50 per path, 10 for all).
 */
import type { Command } from 'commander';
import { nextQuotaReset } from '../calendar.ts';
import { InputError } from '../errors.ts';
import { clearAllQuota, clearApiQuota, type QuotaRow, quotaReport } from '../wechat/quota.ts';
import { printJson, withOpsDeps } from './ops-context.ts';

const num = (n: number) => n.toLocaleString('en-US');

/** Rows as a padded table: path, limit, used, remaining, share left (or the error). */
export function formatQuotaTable(rows: QuotaRow[], resetAt: Date): string {
  const header = ['path', 'daily limit', 'used', 'remaining', 'left'];
  const cells = rows.map((r) =>
    'error' in r
      ? [r.path, '-', '-', '-', `unavailable: ${r.error}`]
      : [
          r.path,
          num(r.dailyLimit),
          num(r.used),
          num(r.remain),
          r.dailyLimit > 0 ? `${((r.remain / r.dailyLimit) * 100).toFixed(0)}%` : '-',
        ],
  );
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const right = new Set([1, 2, 3]);
  const line = (c: string[]) =>
    c
      .map((v, i) =>
        i === c.length - 1 ? v : right.has(i) ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return [
    line(header),
    ...cells.map(line),
    '',
    `counters reset at ${resetAt.toISOString()} (00:00 Beijing time)`,
  ].join('\n');
}

export function registerQuotaCommands(program: Command): void {
  const quota = program
    .command('quota')
    .description("today's WeChat API quota (daily limit, used, remaining) for every path wxsync calls")
    .option('--json', 'print JSON (for scripts)')
    .action(async (flags: { json?: boolean }) => {
      const rows = await withOpsDeps((deps) => quotaReport(deps.wechat));
      const resetAt = nextQuotaReset();
      if (flags.json) printJson({ resetAt: resetAt.toISOString(), paths: rows });
      else console.log(formatQuotaTable(rows, resetAt));
      if (rows.every((r) => 'error' in r)) process.exitCode = 1;
    });
  quota
    .command('clear [path]')
    .description(
      "reset one path's daily counter (openapi/quota/clear, 50 a month) or, with --all, every counter (clear_quota, 10 a month)",
    )
    .option('--all', 'reset every counter of the account')
    .action(async (path: string | undefined, flags: { all?: boolean }) => {
      if (Boolean(flags.all) === (path !== undefined))
        throw new InputError('give either a cgi path (e.g. /cgi-bin/user/get) or --all');
      if (path !== undefined && !/^\/[\w/-]+$/.test(path))
        throw new InputError('the path must be a cgi path such as /cgi-bin/user/get');
      await withOpsDeps(async (deps) => {
        if (path === undefined) await clearAllQuota(deps.wechat);
        else await clearApiQuota(deps.wechat, path);
      });
      console.log(
        path === undefined ? 'every daily counter was reset' : `daily counter of ${path} was reset`,
      );
    });
}
