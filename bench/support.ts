/**
 * Child processes of the benchmarks: free ports, starting and stopping node scripts, readiness, and
 * a private redis-server.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

export const TSX = ['--import', 'tsx'];

/** A TCP port free right now on 127.0.0.1 (for the processes a benchmark starts). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** Starts `node [nodeArgs] --import tsx <args>`; its output is kept for the error message if it dies. */
export function startNode(
  args: string[],
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
): ChildProcess & { output: string[] } {
  const child = spawn(process.execPath, [...nodeArgs, ...TSX, ...args], {
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

/**
 * A private redis-server on a free port for one benchmark (no persistence, noeviction as BullMQ
 * requires): the shared Redis on 6379 also serves other people's tests, whose load would show up
 * in the figures. Resolves once it accepts connections; `stop` ends it.
 */
export async function startBenchRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxmemory-policy',
      'noeviction',
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code})`)));
  });
  // Never outlives the benchmark, even one that dies of an error.
  const kill = () => child.kill();
  process.once('exit', kill);
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      process.off('exit', kill);
      await stop(child);
    },
  };
}
