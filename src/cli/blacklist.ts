/** `wxsync blacklist add|remove|list`: the account's blacklist, written to WeChat and the table. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  addToBlacklist,
  type BlacklistWriteReport,
  listBlacklist,
  removeFromBlacklist,
} from '../ops/blacklist.ts';
import { iterateBlacklistPages } from '../wechat/blacklist.ts';
import { printJson, withOpsDeps } from './ops-context.ts';

/** Openids from the arguments and/or a file (one per line, '-' = stdin; blank lines and # comments skipped). */
function collectOpenids(args: string[], file?: string): string[] {
  const fromFile = file
    ? readFileSync(file === '-' ? 0 : file, 'utf8')
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l !== '' && !l.startsWith('#'))
    : [];
  return [...args, ...fromFile];
}

function printReport(report: BlacklistWriteReport, json: boolean): void {
  if (json) {
    printJson(report);
    return;
  }
  for (const r of report.results) {
    console.log(
      r.ok
        ? `ok      ${r.openid}`
        : `FAILED  ${r.openid}  errcode ${r.errcode ?? '-'} ${r.errmsg ?? ''}`.trimEnd(),
    );
  }
  console.log(`${report.action}: ${report.succeeded} of ${report.requested} done, ${report.failed} failed`);
}

export function registerBlacklistCommands(program: Command): void {
  const blacklist = program
    .command('blacklist')
    .description("the account's blacklist (WeChat and the blacklist table)");

  for (const action of ['add', 'remove'] as const) {
    blacklist
      .command(`${action} [openids...]`)
      .description(
        action === 'add'
          ? 'blacklist users (20 per WeChat call); the table is updated at once'
          : 'take users off the blacklist; their rows get removed_at',
      )
      .option('-f, --file <path>', "read openids from a file, one per line ('-' for stdin)")
      .option('--json', 'print the per-openid report as JSON')
      .action(async (openids: string[], options: { file?: string; json?: boolean }) => {
        const input = { openids: collectOpenids(openids, options.file) };
        const report = await withOpsDeps((deps) =>
          action === 'add' ? addToBlacklist(deps, input) : removeFromBlacklist(deps, input),
        );
        printReport(report, options.json === true);
        if (report.failed > 0) process.exitCode = 1;
      });
  }

  blacklist
    .command('list')
    .description('list blacklisted users as stored (blacklist_current), or live from WeChat with --live')
    .option('--page <n>', 'page number', '1')
    .option('--page-size <n>', 'rows per page (max 1000)', '100')
    .option('--live', "read WeChat's getblacklist instead of the table (every page)")
    .option('--json', 'print JSON')
    .action(async (options: { page: string; pageSize: string; live?: boolean; json?: boolean }) => {
      await withOpsDeps(async (deps) => {
        if (options.live) {
          let n = 0;
          for await (const page of iterateBlacklistPages(deps.wechat)) {
            for (const openid of page.openids) console.log(openid);
            n += page.openids.length;
          }
          console.error(`${n} blacklisted (live from WeChat)`);
          return;
        }
        const page = await listBlacklist(deps, { page: options.page, page_size: options.pageSize });
        if (options.json) {
          printJson(page);
          return;
        }
        for (const e of page.entries) console.log(`${e.openid}  listed ${e.listed_at.toISOString()}`);
        console.error(`page ${page.page}: ${page.entries.length} of ${page.total} blacklisted (stored)`);
      });
    });
}
