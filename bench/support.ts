/** Shared plumbing of the benchmarks: child processes, readiness, medians, report lines. */
export { freePort } from '../test/support/redis-server.ts';

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';

export const TSX = ['--import', 'tsx'];

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Starts `node --import tsx <args>`; its output is kept for the error message if it dies. */
export function startNode(
  args: string[],
  env: Record<string, string> = {},
): ChildProcess & { output: string[] } {
  const child = spawn(process.execPath, [...TSX, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  }) as ChildProcess & { output: string[] };
  child.output = [];
  const keep = (chunk: Buffer) => {
    child.output.push(chunk.toString());
    if (child.output.length > 200) child.output.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return child;
}

/** Runs a node script to completion and returns its stdout. */
export async function runNode(args: string[], env: Record<string, string> = {}): Promise<string> {
  const child = startNode(args, env);
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`${args.join(' ')} exited ${code}:\n${child.output.join('')}`);
  return child.output.join('');
}

export async function waitForHttp(url: string, child?: ChildProcess & { output: string[] }, seconds = 60) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`process died:\n${child.output.join('')}`);
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${url} not up after ${seconds}s`);
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await once(child, 'exit');
  clearTimeout(timer);
}

export const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
