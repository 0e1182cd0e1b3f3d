/**
 * A private redis-server on a free port, for tests that stop or kill Redis: the shared Redis on
 * 6379 is used by other people and tests and is never touched.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export interface RedisServerOptions {
  /**
   * Keep the data across a restart in an append-only file in this directory (as the
   * docker-compose Redis does). `appendfsync always`: a write Redis acknowledged survives even a
   * SIGKILL, so a test that kills Redis judges wxsync, not Redis' one-second fsync window.
   */
  aofDir?: string;
  /** `requirepass`: clients must AUTH with it (a wrong one is refused with WRONGPASS). */
  password?: string;
}

/** Starts redis-server on `port` and resolves once it accepts connections. */
export async function startRedis(port: number, options: RedisServerOptions = {}): Promise<ChildProcess> {
  const persistence = options.aofDir
    ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', options.aofDir]
    : ['--appendonly', 'no'];
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      // BullMQ must never have its keys evicted.
      '--maxmemory-policy',
      'noeviction',
      ...persistence,
      ...(options.password ? ['--requirepass', options.password] : []),
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code})`)));
  });
  return child;
}

/** Stops it (SIGTERM: clean shutdown; SIGKILL: a crash) and waits for the process to exit. */
export async function stopRedis(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}
