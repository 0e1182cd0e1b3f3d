/**
 * `wxsync`: one binary for every role (server, worker, scheduler, syncs, the fake platform, the demo).
 * Each command group lives in src/cli/<group>.ts and registers itself here.
 */
import { Command, CommanderError } from 'commander';
import { registerBlacklistCommands } from './cli/blacklist.ts';
import { registerDbCommands } from './cli/db.ts';
import { registerDemoCommand } from './cli/demo.ts';
import { registerDoctorCommand } from './cli/doctor.ts';
import { registerFakeWeChatCommands } from './cli/fake-wechat.ts';
import { registerQuotaCommands } from './cli/quota.ts';
import { registerRunsCommands } from './cli/runs.ts';
import { registerServeCommand } from './cli/serve.ts';
import { registerSyncCommands } from './cli/sync.ts';
import { registerUserCommands } from './cli/user.ts';
import { registerWorkerCommand } from './cli/worker.ts';
import { ConfigError } from './config.ts';
import { errorMessage } from './errors.ts';

export function buildProgram(): Command {
  const program = new Command('wxsync')
    .description('Mirror a WeChat Official Account into PostgreSQL and answer its /wx callback URL')
    .showHelpAfterError()
    .exitOverride();
  registerDbCommands(program);
  registerFakeWeChatCommands(program);
  registerServeCommand(program);
  registerWorkerCommand(program);
  registerSyncCommands(program);
  registerRunsCommands(program);
  registerBlacklistCommands(program);
  registerUserCommands(program);
  registerDoctorCommand(program);
  registerQuotaCommands(program);
  registerDemoCommand(program);
  return program;
}

export async function main(argv = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode;
    } else if (error instanceof ConfigError) {
      console.error(`wxsync: ${error.message}\n(set them in the environment or in .env; see .env.example)`);
      process.exitCode = 2;
    } else {
      console.error(`wxsync: ${errorMessage(error)}`);
      process.exitCode = 1;
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
