/**
 * Shared pieces of the fault-tolerance suite: the environment (fresh database, fake platform, random
 * queue prefix: sync-env.ts), the "nothing lost, nothing duplicated" checks, pushing
 * events through /wx the way WeChat does (resending the identical request until it is accepted),
 * and the switch for the heavy variants.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { expect } from 'vitest';
import { followersJob } from '../../jobs/sync/followers.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { QUEUE_NAMES } from '../../src/queues.ts';
import { TEST_WECHAT } from './env.ts';
import { asUserInfo, canonicalJson, mirrorOf, sorted } from './mirror.ts';
import { until } from './processes.ts';
import type { SyncTestEnv } from './sync-env.ts';

/** `WXSYNC_HEAVY_TESTS=1` (npm run test:heavy): bigger accounts, longer runs. */
export const HEAVY = process.env.WXSYNC_HEAVY_TESTS === '1';

/** The validated configuration a child process built from `env.childEnv(extra)` would load. */
export function configOf(env: SyncTestEnv, extra: Record<string, string> = {}): Config {
  return loadConfig(env.childEnv({ WX_MESSAGE_MODE: 'compatible', ...extra }) as Record<string, string>);
}

/**
 * Child-process environment for `wxsync serve` / `wxsync worker` in this suite. The fake platform
 * pushes in plaintext here while the AES key is set (safe mode by default): compatible mode.
 */
export function chaosChildEnv(env: SyncTestEnv, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return env.childEnv({
    ...TEST_WECHAT,
    WX_MESSAGE_MODE: 'compatible',
    HOST: '127.0.0.1',
    PORT: '0',
    ADMIN_TOKEN: '',
    LOG_LEVEL: 'info',
    ...extra,
  });
}

/** The URL `wxsync serve` logged once listening (LOG_LEVEL info, JSON lines). */
export function listeningUrl(lines: string[]): string | undefined {
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

/**
 * Adds the followers sync job with the product's attempts and a short backoff: the product waits
 * 30 s then 60 s between attempts, which only stretches a test. What is under test is that an
 * attempt that fails is retried and resumes, not how long BullMQ waits.
 */
export async function addFollowersJob(queue: Queue, jobId: string) {
  return queue.add(
    followersJob.name,
    { trigger: 'test' },
    { jobId, attempts: followersJob.retry.attempts, backoff: { type: 'fixed', delay: 300 } },
  );
}

/** A producer on the test's Redis for the queues under `prefix`; `close` obliterates them. */
export function openTestQueues(redisUrl: string, prefix: string) {
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

/**
 * The mirror is exact: subscribed rows are exactly the platform's followers, each with the
 * profile user/info gives (canonical JSON, byte for byte); unsubscribed rows are exactly
 * `unsubscribed`; no row whose flag and unsubscribed_at disagree.
 */
export async function expectExactMirror(env: SyncTestEnv, unsubscribed: string[]): Promise<void> {
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
}

export interface PushedEvent {
  openid: string;
  event: 'subscribe' | 'unsubscribe';
  createTime: number;
}

/**
 * Every pushed event was recorded exactly once in follower_events (one row per distinct push,
 * nothing extra) and processed (processed_at set).
 */
export async function expectEventsOnce(env: SyncTestEnv, pushed: PushedEvent[]): Promise<void> {
  const rows = await env.t.db.followerEvent.findMany({
    select: { openid: true, event: true, createTime: true, processedAt: true },
  });
  const key = (e: { openid: string; event: string; createTime: number }) =>
    `${e.openid}/${e.event}/${e.createTime}`;
  const stored = rows.map((r) => key({ ...r, createTime: r.createTime.getTime() / 1000 })).sort();
  expect(stored).toEqual(pushed.map(key).sort());
  expect(rows.filter((r) => r.processedAt === null)).toEqual([]);
}

/** follower_events rows processed so far (tolerates a database blip: -1). */
export async function processedEvents(env: SyncTestEnv): Promise<number> {
  return env.t.db.followerEvent.count({ where: { processedAt: { not: null } } }).catch(() => -1);
}

/**
 * Waits until `expected` events are processed, or until the events queue has nothing left to run
 * (then the caller's exact checks say what is missing, instead of a bare timeout).
 */
export async function settleEvents(env: SyncTestEnv, events: Queue, expected: number, timeoutMs = 120_000) {
  await until(
    `${expected} events to be applied (or the events queue to drain)`,
    async () => {
      if ((await processedEvents(env)) === expected) return true;
      const counts = await events.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return Object.values(counts).every((n) => n === 0);
    },
    timeoutMs,
    200,
  );
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
