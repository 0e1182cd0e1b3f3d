/**
 * One run of a sync job at a time, across processes: a Redis lock (SET NX PX) owned by a random
 * token and kept alive by a heartbeat. A holder that dies (SIGKILL) stops heartbeating, so its lock
 * expires after `ttlMs` and the next taker resumes its run. If the heartbeat finds the lock gone or
 * taken, `signal` aborts: the run must stop writing, since another process may now own the job.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { sleep } from '../src/wechat/util.ts';

const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export interface LockHolder {
  owner: string;
  since: string;
}

export interface HeldLock {
  readonly key: string;
  /** Aborted when the heartbeat could not extend the lock (it expired or another process took it). */
  readonly signal: AbortSignal;
  release(): Promise<void>;
}

export interface LockOptions {
  /** Lock lifetime without a heartbeat; a dead holder blocks the job this long at most. */
  ttlMs: number;
  /**
   * How long to keep trying while the lock is held. 0 = refuse at once (a person asked). A worker
   * retrying a stalled job waits about one ttl, because the lock of the process that died is still
   * there until it expires.
   */
  waitMs?: number;
}

/** Tries to take `key`. Returns undefined when it is still held by someone else after `waitMs`. */
export async function acquireLock(
  redis: Redis,
  key: string,
  options: LockOptions,
): Promise<HeldLock | undefined> {
  const token = randomBytes(12).toString('hex');
  const value = JSON.stringify({
    token,
    owner: `${hostname()}/${process.pid}`,
    since: new Date().toISOString(),
  });
  const deadline = Date.now() + (options.waitMs ?? 0);
  for (;;) {
    if ((await redis.set(key, value, 'PX', options.ttlMs, 'NX')) === 'OK') break;
    if (Date.now() >= deadline) return undefined;
    await sleep(Math.min(250, Math.max(25, options.ttlMs / 10)));
  }

  const controller = new AbortController();
  let stopped = false;
  let lastExtended = Date.now();
  const beat = async () => {
    try {
      const extended = await redis.eval(EXTEND, 1, key, value, options.ttlMs);
      if (extended === 1) lastExtended = Date.now();
      else if (!stopped) controller.abort(new Error(`lost the lock ${key}`));
    } catch {
      // Redis unreachable for one beat: the next beat retries; the ttl covers a few missed beats.
      // Past the ttl the lease has lapsed in Redis and another process may hold it: stop working.
      if (!stopped && Date.now() - lastExtended > options.ttlMs) {
        controller.abort(new Error(`could not renew the lock ${key} within its ttl`));
      }
    }
  };
  const timer = setInterval(() => void beat(), Math.max(50, Math.floor(options.ttlMs / 3)));
  timer.unref();
  return {
    key,
    signal: controller.signal,
    async release() {
      stopped = true;
      clearInterval(timer);
      await redis.eval(RELEASE, 1, key, value).catch(() => undefined);
    },
  };
}

/** Who holds `key` now, for the "already running" message. */
export async function lockHolder(redis: Redis, key: string): Promise<LockHolder | undefined> {
  const raw = await redis.get(key);
  if (!raw) return undefined;
  try {
    const parsed = JSON.parse(raw) as LockHolder;
    return { owner: parsed.owner, since: parsed.since };
  } catch {
    return undefined;
  }
}
