/**
 * Chaos 2: Redis is killed (SIGKILL) and started again while `wxsync serve` takes a stream of
 * pushes and `wxsync worker` applies them. Redis here is a private redis-server on a free port with
 * an append-only file (as the docker-compose Redis), never the shared one on 6379. While it is
 * down, /wx must answer 5xx at once (WeChat then retries) rather than hang, crash or claim success;
 * once it is back, both processes recover by themselves and every push is applied exactly once.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forEachBounded } from '../../jobs/pool.ts';
import { type ChaosTestEnv, chaosTestEnv, deliver, HEAVY, type PushedEvent } from '../support/chaos.ts';
import { TEST_WECHAT } from '../support/env.ts';
import { sorted } from '../support/mirror.ts';
import { until } from '../support/processes.ts';
import { freePort, startRedis, stopRedis } from '../support/redis-server.ts';

const PUSHES = HEAVY ? 2_000 : 240;
/** Redis stays down this long after the first refused push (outage length, not an assertion). */
const OUTAGE_MS = HEAVY ? 8_000 : 2_000;

let env: ChaosTestEnv;
let aofDir: string;
let port: number;
let redis: ChildProcess | undefined;

beforeAll(async () => {
  aofDir = await mkdtemp(join(tmpdir(), 'wxsync-chaos-redis-'));
  port = await freePort();
  redis = await startRedis(port, { aofDir });
  env = await chaosTestEnv(
    { followers: 0, seed: 72, blacklist: 0, token: TEST_WECHAT.WECHAT_TOKEN },
    { redisUrl: `redis://127.0.0.1:${port}` },
  );
});
afterAll(async () => {
  // Kills the children, obliterates the queues (on the private Redis, which must still run).
  await env?.close();
  if (redis) await stopRedis(redis, 'SIGKILL');
  if (aofDir) await rm(aofDir, { recursive: true, force: true });
});

describe('Redis restarted while /wx takes pushes', () => {
  it('answers 5xx during the outage, recovers by itself, applies every push once', async () => {
    const {
      url,
      serve,
      workers: [worker],
    } = await env.startServeAndWorkers([['--concurrency', '8']]);

    const pushed: PushedEvent[] = env.fake.state.addFollowers(PUSHES).map((openid) => ({
      openid,
      event: 'subscribe',
      createTime: 0,
    }));
    const requests = pushed.map((p) => {
      const built = env.fake.push.build(p.openid, { MsgType: 'event', Event: 'subscribe', EventKey: '' });
      p.createTime = built.createTime;
      return built;
    });

    let accepted = 0;
    const refused: number[] = [];
    // A steady stream (4 senders, a pause after each accepted push), not one burst that is over
    // before Redis can be killed.
    const delivering = forEachBounded(requests, 4, async (request) => {
      await deliver(request, {
        deadlineMs: 90_000,
        timeoutMs: 4_000,
        pauseMs: 100,
        onAttempt: (status) => {
          if (status < 200 || status >= 300) refused.push(status);
        },
      });
      accepted += 1;
      await new Promise((r) => setTimeout(r, 40));
    });

    await until('a third of the pushes to be accepted', () => accepted >= PUSHES / 3);
    await stopRedis(redis!, 'SIGKILL');
    redis = undefined;
    const acceptedAtKill = accepted;
    await until('a push to be refused while Redis is down', () => refused.length > 0);
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    // Nothing was accepted while Redis was down (a 'success' then would be a lie).
    expect(accepted - acceptedAtKill).toBeLessThanOrEqual(4);
    redis = await startRedis(port, { aofDir });
    await delivering;

    // During the outage /wx answered, and answered 5xx: no hang (0), no 4xx, no crash.
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.filter((s) => s < 500 || s > 599)).toEqual([]);
    expect(accepted).toBe(PUSHES);

    // The queues are opened only now, on the Redis that came back.
    await env.settleEvents(PUSHES);
    await env.expectEventsOnce(pushed);
    const stored = await env.t.db.follower.findMany({ where: { subscribe: true }, select: { openid: true } });
    expect(sorted(stored.map((r) => r.openid))).toEqual(sorted(pushed.map((p) => p.openid)));

    // Both processes lived through it and still serve.
    expect(serve.child.exitCode).toBe(null);
    expect(worker!.child.exitCode).toBe(null);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  }, 300_000);
});
