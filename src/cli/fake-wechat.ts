/**
 * `wxsync fake-wechat`: runs the fake WeChat platform as a server (demo, benchmarks, manual tests).
 * Prints the URL, the appid it accepts and how long generating the data took; never the secret
 * when it came from the environment.
 */
import type { Command } from 'commander';
import { InputError } from '../errors.ts';
import { type FaultRule, type FaultTarget, parseFaultSpec, startFakeWeChat } from '../fake-wechat/index.ts';
import { DEFAULT_DATA_OPTIONS } from '../fake-wechat/state.ts';
import { intOption, shareOption } from './options.ts';

interface FakeWeChatFlags {
  port: number;
  host: string;
  followers: number;
  seed: string;
  blacklist: number;
  statsDays: number;
  blacklistPageSize: number;
  unsubscribedShare: number;
  unionidShare: number;
  tokenTtl: number;
  tokenOverlap: number;
  lastPage: 'empty' | 'repeat';
  appId?: string;
  appSecret?: string;
  latency?: number;
  fault: string[];
  expireTokenEvery?: number;
  callbackUrl?: string;
  profiles: string;
  quota: string[];
  clock?: string;
  userGetTotalDrift: number;
}

/** `--quota /cgi-bin/user/get=500` -> ['/cgi-bin/user/get', 500] */
function parseQuota(spec: string): [string, number] {
  const at = spec.lastIndexOf('=');
  const path = spec.slice(0, at);
  const limit = Number(spec.slice(at + 1));
  if (at <= 0 || !/^\/[\w/-]+$/.test(path) || !Number.isInteger(limit) || limit < 0)
    throw new InputError(`--quota must look like /cgi-bin/user/get=500 (got "${spec.slice(0, 80)}")`);
  return [path, limit];
}

export function registerFakeWeChatCommands(program: Command): void {
  program
    .command('fake-wechat')
    .description(
      'run the fake WeChat platform (api.weixin.qq.com look-alike with admin routes under /__fake)',
    )
    .option('--port <n>', 'port to listen on (0 = random)', intOption('port'), 9000)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option(
      '--followers <n>',
      'current followers to generate',
      intOption('followers'),
      DEFAULT_DATA_OPTIONS.followers,
    )
    .option('--seed <seed>', 'seed of the generated data (same seed, same data)', '1')
    .option(
      '--blacklist <n>',
      'blacklisted followers at start',
      intOption('blacklist'),
      DEFAULT_DATA_OPTIONS.blacklist,
    )
    .option(
      '--stats-days <n>',
      'length of the daily statistics series, ending yesterday',
      intOption('stats-days', 1),
      60,
    )
    .option(
      '--blacklist-page-size <n>',
      'getblacklist page size (1000 now, 10000 in older docs)',
      intOption('blacklist-page-size', 1),
      1000,
    )
    .option(
      '--unsubscribed-share <x>',
      'ex-followers, as a share of followers',
      shareOption('unsubscribed-share'),
      DEFAULT_DATA_OPTIONS.unsubscribedShare,
    )
    .option(
      '--unionid-share <x>',
      'share of users with a unionid',
      shareOption('unionid-share'),
      DEFAULT_DATA_OPTIONS.unionidShare,
    )
    .option(
      '--token-ttl <s>',
      'access_token lifetime (expires_in)',
      intOption('token-ttl', 1),
      DEFAULT_DATA_OPTIONS.tokenTtlS,
    )
    .option(
      '--token-overlap <s>',
      'seconds the previous token stays valid after a refresh',
      intOption('token-overlap'),
      DEFAULT_DATA_OPTIONS.tokenOverlapS,
    )
    .option('--last-page <mode>', "next_openid of the final empty page: 'empty' or 'repeat'", 'empty')
    .option('--app-id <appid>', 'appid to accept (default: WECHAT_APP_ID, else a made-up one)')
    .option('--app-secret <secret>', 'secret to accept (default: WECHAT_APP_SECRET, else a made-up one)')
    .option('--latency <ms>', 'latency added to every call', intOption('latency'))
    .option(
      '--fault <spec>',
      "fault rule, repeatable: '<endpoint|*>:errcode=-1:rate=0.1', '*:http=502:rate=0.05', '*:drop=0.01', '*:truncate=0.01', '*:nonjson=0.01', '*:latency=50:jitter=20', 'user/info/batchget:omit=0.01'",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option(
      '--expire-token-every <s>',
      'force every access_token to expire each N seconds',
      intOption('expire-token-every', 1),
    )
    .option(
      '--callback-url <url>',
      'our /wx URL, for pushes over POST /__fake/push (Token/EncodingAESKey from WECHAT_TOKEN / WECHAT_ENCODING_AES_KEY)',
    )
    .option(
      '--profiles <mode>',
      "what user/info and batchget say: 'modern' (WeChat since 2021-12-27: empty nickname, avatar, sex 0, places) or 'legacy' (rich generated profiles)",
      'modern',
    )
    .option(
      '--quota <path=limit>',
      'daily limit of a cgi path, repeatable: --quota /cgi-bin/user/info/batchget=40 (defaults: token 2000, user/get 500, user/info 5000000)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option(
      '--clock <time>',
      'start the fake clock at this ISO time (e.g. 2026-03-01T15:59:00Z; quotas reset at 00:00 Beijing = 16:00Z)',
    )
    .option(
      '--user-get-total-drift <n>',
      'how far user/get totals after the first page may stray from the true count (0 = exact)',
      intOption('user-get-total-drift'),
      DEFAULT_DATA_OPTIONS.userGetTotalDrift,
    )
    .action(async (flags: FakeWeChatFlags) => {
      if (flags.lastPage !== 'empty' && flags.lastPage !== 'repeat')
        throw new InputError("--last-page must be 'empty' or 'repeat'");
      if (flags.profiles !== 'modern' && flags.profiles !== 'legacy')
        throw new InputError("--profiles must be 'modern' or 'legacy'");
      const clockAt = flags.clock === undefined ? undefined : Date.parse(flags.clock);
      if (clockAt !== undefined && Number.isNaN(clockAt))
        throw new InputError('--clock must be an ISO date-time such as 2026-03-01T15:59:00Z');
      const quotas = Object.fromEntries(flags.quota.map(parseQuota));
      const appId = flags.appId ?? process.env.WECHAT_APP_ID ?? DEFAULT_DATA_OPTIONS.appId;
      const secretFromEnv = flags.appSecret === undefined && Boolean(process.env.WECHAT_APP_SECRET);
      const appSecret = flags.appSecret ?? process.env.WECHAT_APP_SECRET ?? DEFAULT_DATA_OPTIONS.appSecret;
      const rules: Partial<Record<FaultTarget, FaultRule>> = {};
      for (const spec of flags.fault) {
        const { target, rule } = parseFaultSpec(spec);
        rules[target] = { ...rules[target], ...rule };
      }
      const seed = /^\d+$/.test(flags.seed) ? Number(flags.seed) : flags.seed;
      const wx = await startFakeWeChat({
        host: flags.host,
        port: flags.port,
        followers: flags.followers,
        seed,
        blacklist: flags.blacklist,
        statsDays: flags.statsDays,
        blacklistPageSize: flags.blacklistPageSize,
        unsubscribedShare: flags.unsubscribedShare,
        unionidShare: flags.unionidShare,
        tokenTtlS: flags.tokenTtl,
        tokenOverlapS: flags.tokenOverlap,
        lastPageNextOpenid: flags.lastPage,
        profiles: flags.profiles,
        quotas,
        userGetTotalDrift: flags.userGetTotalDrift,
        appId,
        appSecret,
        latencyMs: flags.latency,
        faults: { rules, tokenExpiryEveryS: flags.expireTokenEvery ?? null },
        callbackUrl: flags.callbackUrl,
        token: process.env.WECHAT_TOKEN,
        encodingAesKey: process.env.WECHAT_ENCODING_AES_KEY,
      });
      if (clockAt !== undefined) wx.state.clock.set(clockAt);
      const s = wx.state.summary();
      console.log(`fake WeChat listening on ${wx.url}`);
      console.log(
        `  generated ${s.followers} followers (+${s.exFollowers} ex-followers), ${s.blacklist} blacklisted, stats ${s.statsFrom}..${s.statsTo} in ${wx.state.generationMs.toFixed(0)} ms (seed ${flags.seed})`,
      );
      console.log(`  accepts appid ${appId}`);
      console.log(
        secretFromEnv
          ? '  secret: WECHAT_APP_SECRET from the environment (not printed)'
          : flags.appSecret !== undefined
            ? '  secret: the --app-secret given'
            : `  secret: ${appSecret} (made-up test value)`,
      );
      console.log(
        `  profiles: ${s.profiles}; clock: ${s.clock}${flags.quota.length ? `; quotas: ${JSON.stringify(quotas)}` : ''}`,
      );
      console.log(
        `  admin: ${wx.url}/__fake/state, /__fake/calls, /__fake/faults, /__fake/push, /__fake/quotas, /__fake/clock, /__fake/other-system`,
      );
      if (flags.fault.length) console.log(`  faults: ${JSON.stringify(wx.faults.snapshot().rules)}`);
      const stop = () => {
        void wx.close().finally(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
