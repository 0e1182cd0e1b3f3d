/**
 * The demo's burst of pushes: new followers subscribing and existing ones leaving, concurrently,
 * through the real /wx (signed, in safe mode), then a few of WeChat's retries of pushes already
 * answered, which /wx must recognise as duplicates.
 */
import type { FakeWeChat, PushResult } from '../fake-wechat/index.ts';

export interface BurstPlan {
  subscribes: number;
  unsubscribes: number;
  /** Pushes sent a second time, as WeChat does when an answer is late. */
  retries: number;
  /** Pushes in flight at once. */
  concurrency?: number;
}

export interface BurstResult {
  /** Just before the first push (follower_events rows received since then are the burst's). */
  since: Date;
  added: string[];
  gone: string[];
  /** Pushes not answered 2xx after WeChat's retries. */
  failed: number;
  sent: number;
}

async function pool<T>(tasks: (() => Promise<T>)[], concurrency: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, tasks.length) }, async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await (tasks[i] as () => Promise<T>)();
    }
  });
  await Promise.all(lanes);
  return results;
}

/** Evenly spread picks, so the leavers are not all from one end of the follower list. */
export function spread<T>(items: T[], n: number): T[] {
  if (n >= items.length) return [...items];
  const step = items.length / n;
  return Array.from({ length: n }, (_, k) => items[Math.floor(k * step)] as T);
}

export async function pushBurst(
  fake: FakeWeChat,
  plan: BurstPlan,
  onSent?: (sent: number, total: number) => void,
): Promise<BurstResult> {
  const since = new Date();
  const blacklisted = new Set(fake.state.blacklistOpenids());
  const leaving = spread(
    fake.state.followerOpenids().filter((o) => !blacklisted.has(o)),
    plan.unsubscribes,
  );
  const tasks: (() => Promise<PushResult>)[] = [
    ...Array.from({ length: plan.subscribes }, () => () => fake.push.newFollower()),
    ...leaving.map((openid) => () => fake.push.unsubscribe(openid)),
  ];
  const total = tasks.length + Math.min(plan.retries, plan.subscribes);
  let sent = 0;
  const counted = tasks.map((task) => async () => {
    const result = await task();
    onSent?.(++sent, total);
    return result;
  });
  const first = await pool(counted, plan.concurrency ?? 32);
  const added = first.slice(0, plan.subscribes).map((r) => r.openid);
  // WeChat's retry: the same message (same CreateTime) again; the state already has the follower.
  const replays = first.slice(0, Math.min(plan.retries, plan.subscribes)).map((r) => async () => {
    const again = await fake.push.subscribe(r.openid, { createTime: r.createTime, applyToState: false });
    onSent?.(++sent, total);
    return again;
  });
  const second = await pool(replays, plan.concurrency ?? 32);
  const failed = [...first, ...second].filter((r) => !r.ok).length;
  return { since, added, gone: leaving, failed, sent };
}
