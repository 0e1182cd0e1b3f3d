/** `wxsync user <openid>`, `wxsync shorturl <url>`, `wxsync ips`: one-off account look-ups. */
import type { Command } from 'commander';
import { apiDomainIps, shortenUrl } from '../ops/platform.ts';
import { lookupUser, refreshUser } from '../ops/users.ts';
import { printJson, withOpsDeps } from './ops-context.ts';

export function registerUserCommands(program: Command): void {
  program
    .command('user <openid>')
    .description('one user: live from WeChat (user/info) and as stored in followers')
    .option('--lang <lang>', 'zh_CN, zh_TW or en', 'zh_CN')
    .option(
      '--refresh',
      "also store WeChat's answer now (recorded in follower_history as admin user_refresh)",
    )
    .action(async (openid: string, options: { lang: string; refresh?: boolean }) => {
      if (options.refresh) {
        printJson(await withOpsDeps((deps) => refreshUser(deps, { openid })));
        return;
      }
      const result = await withOpsDeps((deps) => lookupUser(deps, { openid, lang: options.lang }));
      printJson(result);
      if (result.live_error && !result.stored) process.exitCode = 1;
    });

  program
    .command('shorturl <url>')
    .description('ask WeChat for a short URL (WeChat retired this API in 2021: expect its refusal)')
    .action(async (url: string) => {
      const result = await withOpsDeps((deps) => shortenUrl(deps, { long_url: url }));
      if (result.ok) {
        console.log(result.short_url);
        return;
      }
      console.error(
        `WeChat refused: errcode ${result.errcode} (${result.errmsg || 'no errmsg'})\n${result.note}`,
      );
      process.exitCode = 1;
    });

  program
    .command('ips')
    .description("WeChat's API server addresses (get_api_domain_ip), one per line")
    .action(async () => {
      const { ip_list } = await withOpsDeps((deps) => apiDomainIps(deps));
      for (const ip of ip_list) console.log(ip);
    });
}
