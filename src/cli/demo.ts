/**
 * `wxsync demo` (`npm start`): the main job end to end on the fake WeChat platform, in one process.
 * See src/demo/run.ts for what it does; this file only parses the options.
 */
import type { Command } from 'commander';
import { runDemo } from '../demo/run.ts';
import { InputError } from '../errors.ts';
import { intOption } from './options.ts';

interface DemoFlags {
  followers: number;
  blacklist: number;
  seed: string;
  statsDays: number;
  keepRunning?: boolean;
  databaseUrl?: string;
  queuePrefix: string;
  subscribes: number;
  unsubscribes: number;
  verbose?: boolean;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'run the main job end to end on the fake WeChat platform (made-up account): migrate, sync everything, push events to /wx, compare the mirror with the platform',
    )
    .option(
      '--followers <n>',
      'followers of the made-up account',
      intOption('followers', 1, 2_000_000),
      50_000,
    )
    .option('--blacklist <n>', 'blacklisted users', intOption('blacklist', 0, 100_000), 500)
    .option('--seed <seed>', 'seed of the generated account (same seed, same data)', '1')
    .option('--stats-days <n>', 'days of statistics, ending yesterday', intOption('stats-days', 1, 365), 60)
    .option('--subscribes <n>', 'new followers pushed through /wx', intOption('subscribes', 0, 100_000), 200)
    .option(
      '--unsubscribes <n>',
      'existing followers leaving through /wx',
      intOption('unsubscribes', 0, 100_000),
      50,
    )
    .option(
      '--keep-running',
      'keep server, worker and fake platform up after the summary (default on a terminal)',
    )
    .option('--no-keep-running', 'exit after the summary (default when stdout is not a terminal)')
    .option(
      '--database-url <url>',
      'database of the demo (default DATABASE_URL, else wxsync_demo on local PostgreSQL)',
    )
    .option('--queue-prefix <prefix>', 'Redis key prefix of the demo (wiped at start and end)', 'wxsync-demo')
    .option('--verbose', 'show the server and worker logs')
    .action(async (flags: DemoFlags) => {
      if (!/^[\w-]+$/.test(flags.queuePrefix)) {
        throw new InputError('--queue-prefix: letters, digits, _ and - only');
      }
      const code = await runDemo({
        followers: flags.followers,
        blacklist: flags.blacklist,
        seed: flags.seed,
        statsDays: flags.statsDays,
        keepRunning: flags.keepRunning ?? (process.stdout.isTTY === true && !process.env.CI),
        databaseUrl: flags.databaseUrl,
        queuePrefix: flags.queuePrefix,
        subscribes: flags.subscribes,
        unsubscribes: flags.unsubscribes,
        retries: Math.min(20, flags.subscribes),
        verbose: flags.verbose === true,
      });
      process.exitCode = code;
      // Every connection is closed by now; a handle some library keeps must not hold CI forever.
      setTimeout(() => process.exit(code), 3_000).unref();
    });
}
