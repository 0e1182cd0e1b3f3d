/**
 * Shared pieces of the fault-tolerance suite: the environment (sync-env.ts's fresh database, fake
 * platform and random queue prefix, plus queues and `wxsync serve` / `wxsync worker` children), the
 * "nothing lost, nothing duplicated" checks, pushing events through /wx the way WeChat does
 * (resending the identical request until it is accepted), and the switch for the heavy variants.
 */
import { type Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { expect } from 'vitest';
import { followersJob } from '../../jobs/sync/followers.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import type { FakeWeChatOptions } from '../../src/fake-wechat/index.ts';
import { QUEUE_NAMES } from '../../src/queues.ts';
import { TEST_REDIS_URL, TEST_WECHAT } from './env.ts';
import { asUserInfo, canonicalJson, mirrorOf, sorted } from './mirror.ts';
import { killAllChildren, type Spawned, spawnNode, until } from './processes.ts';
import { type SyncTestEnv, syncTestEnv } from './sync-env.ts';

/** `WXSYNC_HEAVY_TESTS=1` (npm run test:heavy): bigger accounts, longer runs. */
export const HEAVY = process.env.WXSYNC_HEAVY_TESTS === '1';

/** The URL `wxsync serve` logged once listening (LOG_LEVEL info, JSON lines). */
function listeningUrl(lines: string[]): string | undefined {
  for (const line of lines) {
    if (!line.includes('wxsync server listening')) continue;
    try {
      return (JSON.parse(line) as { url: string }).url;
    } catch {
      // a pretty-printed or partial line: keep looking
    }
  }
  return undefined;
}

/** A producer on the test's Redis for the queues under `prefix`; `close` obliterates them. */
function openTestQueues(redisUrl: string, prefix: string) {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  redis.on('error', () => undefined);
  const events = new Queue(QUEUE_NAMES.events, { connection: redis, prefix });
  const sync = new Queue(QUEUE_NAMES.sync, { connection: redis, prefix });
  return {
    redis,
    events,
    sync,
    async close() {
      for (const q of [events, sync]) {
        await q.obliterate({ force: true }).catch(() => undefined);
        await q.close().catch(() => undefined);
      }
      redis.disconnect();
    },
  };
}

export interface PushedEvent {
  openid: string;
  event: 'subscribe' | 'unsubscribe';
  createTime: number;
}

export interface ChaosTestEnv extends SyncTestEnv {
  /** Producers for the events and sync queues, opened on first use (on `redisUrl`). */
  readonly queues: ReturnType<typeof openTestQueues>;
  /**
   * Child-process environment for `wxsync serve` / `wxsync worker` in this suite. The fake platform
   * pushes in plaintext here while the AES key is set (safe mode by default): compatible mode.
   */
  serverEnv(extra?: Record<string, string>): NodeJS.ProcessEnv;
  /** The validated configuration a child process built from `childEnv(extra)` would load. */
  configFor(extra?: Record<string, string>): Config;
  /**
   * `wxsync serve` and `workerArgs.length` `wxsync worker` processes (one per argument list) on
   * serverEnv(extra); resolves once the server listens and every worker has started, with the fake's
   * pushes pointed at the server's /wx (plaintext).
   */
  startServeAndWorkers(
    workerArgs: string[][],
    extra?: Record<string, string>,
  ): Promise<{ url: string; serve: Spawned; workers: Spawned[] }>;
  /**
   * The product's events and sync workers in a child process with 1 s BullMQ lock and stall
   * periods (child-workers.ts), on serverEnv(extra); resolves once it is ready.
   */
  startChildWorkers(extra?: Record<string, string>): Promise<Spawned>;
  /**
   * Adds the followers sync job with the product's attempts and a short backoff: the product waits
   * 30 s then 60 s between attempts, which only stretches a test. What is under test is that an
   * attempt that fails is retried and resumes, not how long BullMQ waits.
   */
  addFollowersJob(jobId: string): Promise<Job>;
  /**
   * The mirror is exact: subscribed rows are exactly the platform's followers, each with the
   * profile user/info gives (canonical JSON, byte for byte); unsubscribed rows are exactly
   * `unsubscribed`; no row whose flag and unsubscribed_at disagree.
   */
  expectExactMirror(unsubscribed: string[]): Promise<void>;
  /**
   * Every pushed event was recorded exactly once in follower_events (one row per distinct push,
   * nothing extra) and processed (processed_at set).
   */
  expectEventsOnce(pushed: PushedEvent[]): Promise<void>;
  /** follower_events rows processed so far (tolerates a database blip: -1). */
  processedEvents(): Promise<number>;
  /**
   * Waits until `expected` events are processed, or until the events queue has nothing left to run
   * (then the caller's exact checks say what is missing, instead of a bare timeout).
   */
  settleEvents(expected: number, timeoutMs?: number): Promise<void>;
  /** Kills the child processes still running, obliterates the queues, then closes the sync env. */
  close(): Promise<void>;
}

/**
 * The fault-tolerance suite's environment: syncTestEnv's, plus queues, child processes and the
 * "nothing lost, nothing duplicated" checks. `redisUrl`: the Redis the queues and children use
 * (a private one in the Redis restart test; the test Redis otherwise).
 */
export async function chaosTestEnv(
  fakeOptions: FakeWeChatOptions,
  options: { redisUrl?: string } = {},
): Promise<ChaosTestEnv> {
  const env = await syncTestEnv(fakeOptions);
  const redisUrl = options.redisUrl ?? TEST_REDIS_URL;
  let queues: ReturnType<typeof openTestQueues> | undefined;
  const open = () => {
    queues ??= openTestQueues(redisUrl, env.prefix);
    return queues;
  };
  const serverEnv = (extra: Record<string, string> = {}) =>
    env.childEnv({
      ...TEST_WECHAT,
      WX_MESSAGE_MODE: 'compatible',
      HOST: '127.0.0.1',
      PORT: '0',
      ADMIN_TOKEN: '',
      LOG_LEVEL: 'info',
      REDIS_URL: redisUrl,
      ...extra,
    });
  const processedEvents = () =>
    env.t.db.followerEvent.count({ where: { processedAt: { not: null } } }).catch(() => -1);
  return {
    ...env,
    get queues() {
      return open();
    },
    serverEnv,
    configFor: (extra = {}) =>
      loadConfig(
        env.childEnv({ WX_MESSAGE_MODE: 'compatible', REDIS_URL: redisUrl, ...extra }) as Record<
          string,
          string
        >,
      ),
    async startServeAndWorkers(workerArgs, extra) {
      const childEnv = serverEnv(extra);
      const serve = spawnNode(['bin/wxsync.mjs', 'serve'], childEnv);
      const workers = workerArgs.map((args) => spawnNode(['bin/wxsync.mjs', 'worker', ...args], childEnv));
      await until('serve to listen', () => listeningUrl(serve.lines()) !== undefined);
      for (const w of workers)
        await until('a worker to start', () => w.output().includes('events worker started'));
      const url = listeningUrl(serve.lines())!;
      env.fake.push.configure({ callbackUrl: `${url}/wx`, token: TEST_WECHAT.WECHAT_TOKEN, mode: 'plain' });
      return { url, serve, workers };
    },
    async startChildWorkers(extra) {
      const worker = spawnNode(['--import', 'tsx', 'test/support/child-workers.ts'], serverEnv(extra));
      await until('the worker to start', () => worker.output().includes('ready'));
      return worker;
    },
    addFollowersJob: (jobId) =>
      open().sync.add(
        followersJob.name,
        { trigger: 'test' },
        { jobId, attempts: followersJob.retry.attempts, backoff: { type: 'fixed', delay: 300 } },
      ),
    async expectExactMirror(unsubscribed) {
      const m = await mirrorOf(env.t.db);
      const following = sorted(env.fake.state.followerOpenids());
      expect(m.subscribed.length).toBe(following.length);
      expect(m.subscribed).toEqual(following);
      expect(m.unsubscribed).toEqual(sorted(unsubscribed));
      expect(m.inconsistent).toEqual([]);
      const rows = await env.t.db.follower.findMany({ where: { subscribe: true } });
      const wrong = rows
        .filter((row) => canonicalJson(asUserInfo(row)) !== canonicalJson(env.fake.state.profile(row.openid)))
        .map((row) => row.openid);
      expect(wrong).toEqual([]);
    },
    async expectEventsOnce(pushed) {
      const rows = await env.t.db.followerEvent.findMany({
        select: { openid: true, event: true, createTime: true, processedAt: true },
      });
      const key = (e: { openid: string; event: string; createTime: number }) =>
        `${e.openid}/${e.event}/${e.createTime}`;
      const stored = rows.map((r) => key({ ...r, createTime: r.createTime.getTime() / 1000 })).sort();
      expect(stored).toEqual(pushed.map(key).sort());
      expect(rows.filter((r) => r.processedAt === null)).toEqual([]);
    },
    processedEvents,
    async settleEvents(expected, timeoutMs = 120_000) {
      await until(
        `${expected} events to be applied (or the events queue to drain)`,
        async () => {
          if ((await processedEvents()) === expected) return true;
          const counts = await open().events.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
          return Object.values(counts).every((n) => n === 0);
        },
        timeoutMs,
        200,
      );
    },
    async close() {
      await killAllChildren();
      await queues?.close();
      await env.close();
    },
  };
}

export interface Delivery {
  /** HTTP status of every attempt (0: no answer / connection refused). */
  statuses: number[];
}

/**
 * Delivers one push like WeChat, but patiently: the identical request (same body, signature,
 * nonce) is resent until /wx answers 2xx or `deadlineMs` passes. WeChat itself gives up after 3
 * retries; a longer loop lets a test outlast an outage and still demand that nothing is lost.
 */
export async function deliver(
  request: { url: string; body: string },
  opts: { deadlineMs: number; timeoutMs?: number; pauseMs?: number; onAttempt?: (status: number) => void },
): Promise<Delivery> {
  const statuses: number[] = [];
  const note = (status: number) => {
    statuses.push(status);
    opts.onAttempt?.(status);
  };
  const deadline = Date.now() + opts.deadlineMs;
  for (;;) {
    try {
      const res = await fetch(request.url, {
        method: 'POST',
        headers: { 'content-type': 'text/xml' },
        body: request.body,
        signal: AbortSignal.timeout(opts.timeoutMs ?? 2_000),
      });
      await res.text();
      note(res.status);
      if (res.ok) return { statuses };
    } catch {
      note(0);
    }
    if (Date.now() > deadline)
      throw new Error(`push not accepted before the deadline: ${statuses.join(',')}`);
    await new Promise((r) => setTimeout(r, opts.pauseMs ?? 100));
  }
}
