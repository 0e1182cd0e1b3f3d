/**
 * Child processes for tests that run the real binaries (or small fixtures) and kill them: spawn
 * with captured output, wait for exit, poll a condition with a deadline (never a timing
 * assertion), and kill whatever is still running in afterAll.
 */
import { type ChildProcess, spawn } from 'node:child_process';

export interface Spawned {
  child: ChildProcess;
  /** stdout + stderr so far. */
  output(): string;
  /** Complete output lines so far. */
  lines(): string[];
  /** Resolves with the exit code (null when killed by a signal). */
  exit: Promise<number | null>;
}

const running = new Set<ChildProcess>();

/** Runs `node <args>` (e.g. ['bin/wxsync.mjs', 'worker'] or ['--import', 'tsx', 'fixture.ts']). */
export function spawnNode(args: string[], env: NodeJS.ProcessEnv): Spawned {
  const child = spawn(process.execPath, args, { cwd: process.cwd(), env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let out = '';
  child.stdout?.on('data', (d) => {
    out += String(d);
  });
  child.stderr?.on('data', (d) => {
    out += String(d);
  });
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  return { child, output: () => out, lines: () => out.split('\n').slice(0, -1), exit };
}

/** SIGKILLs every child spawned by spawnNode that is still running (for afterAll / finally). */
export async function killAllChildren(): Promise<void> {
  const exits = [...running].map(
    (child) => new Promise<void>((resolve) => child.once('exit', () => resolve())),
  );
  for (const child of running) child.kill('SIGKILL');
  await Promise.all(exits);
}

/** Polls `check` until it is true; throws after `timeoutMs` naming what it waited for. */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Polls `probe` until it gives a truthy value and returns that value; throws after `timeoutMs`
 * naming what it waited for.
 */
export async function eventually<T>(
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  what: string,
  timeoutMs = 60_000,
): Promise<T> {
  let value: T | undefined | null | false;
  await until(
    what,
    async () => {
      value = await probe();
      return Boolean(value);
    },
    timeoutMs,
    100,
  );
  return value as T;
}
