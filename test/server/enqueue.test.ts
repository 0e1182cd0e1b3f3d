/**
 * /wx's group commit (src/server/enqueue.ts) and the batch job (jobs/events/processor.ts) against real
 * Redis, PostgreSQL and the fake platform: concurrent pushes share jobs yet each is queued and
 * applied exactly once; a failed write answers 503 and releases the claims; a push that fails
 * inside a batch gets its own job (retried alone, or kept in the failed set with its reason).
 */
import { Queue } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { batchPushJob, EVENT_BATCH_JOB, EVENT_JOB, type EventJobPayload } from '../../src/events/jobs.ts';
import { dedupeKey, WxMessage } from '../../src/events/message.ts';
import { queuedPushes } from '../../src/events/queued.ts';
import { wxEvents } from '../../src/metrics.ts';
import { QUEUE_NAMES } from '../../src/queues.ts';
import { createRedis } from '../../src/redis.ts';
import { createApp } from '../../src/server/app.ts';
import { createPushEnqueuer } from '../../src/server/enqueue.ts';
import { eventsTestEnv } from '../support/events-env.ts';
import { perFile } from '../support/per-file.ts';
import { eventually } from '../support/processes.ts';
import { plainQuery, subscribeXml } from '../support/wx.ts';

const env = perFile(() =>
  eventsTestEnv({ name: 'enq', fake: { followers: 0 }, config: { WECHAT_MAX_ATTEMPTS: '1' } }),
);

beforeEach(async () => {
  await env.reset();
});

afterEach(async () => {
  await env.stopWorker();
  env.fake.faults.clear('user/info/batchget');
});

const startWorker = () => env.startWorker({ concurrency: 4, batchWaitMs: 50 });

const post = (target: ReturnType<typeof createApp>, xml: string) =>
  target.request(`/wx?${plainQuery().query}`, {
    method: 'POST',
    body: xml,
    headers: { 'Content-Type': 'text/xml' },
  });

const payload = (openid: string, createTime: number): EventJobPayload => ({
  message: WxMessage.parse({
    FromUserName: openid,
    CreateTime: String(createTime),
    MsgType: 'event',
    Event: 'subscribe',
  }),
  receivedAt: new Date().toISOString(),
});

const processedRows = (openids: string[]) =>
  env.tdb.db.followerEvent.count({ where: { openid: { in: openids }, processedAt: { not: null } } });

describe('group commit on /wx', () => {
  it('shares jobs among concurrent pushes; each is queued once, then applied once', async () => {
    const openids = env.fake.state.addFollowers(200);
    const responses = await Promise.all(openids.map((openid) => post(env.app, subscribeXml(openid))));
    expect(responses.map((r) => r.status)).toEqual(openids.map(() => 200));
    expect(await Promise.all(responses.map((r) => r.text()))).toEqual(openids.map(() => 'success'));

    const queued = await queuedPushes(env.queue);
    expect(queued.map((q) => q.push.message.FromUserName).sort()).toEqual([...openids].sort());
    const jobs = new Map(queued.map((q) => [q.job.id, q.job]));
    expect(jobs.size).toBeLessThan(openids.length);
    expect([...jobs.values()].some((j) => j.name === EVENT_BATCH_JOB)).toBe(true);
    for (const job of jobs.values()) {
      expect(job.opts.attempts).toBeGreaterThan(1);
      expect(job.id?.includes(':')).toBe(false);
    }

    const callsBefore = env.fake.calls.count('user/info/batchget');
    const profilesBefore = env.fake.calls.itemCount('user/info/batchget');
    startWorker();
    await eventually(async () => (await processedRows(openids)) === openids.length, 'every push applied');
    expect(await env.tdb.db.followerEvent.count({ where: { openid: { in: openids } } })).toBe(openids.length);
    const followers = await env.tdb.db.follower.findMany({ where: { openid: { in: openids } } });
    expect(followers).toHaveLength(openids.length);
    expect(followers.every((f) => f.subscribe)).toBe(true);
    // Each profile fetched once, in calls shared by the pushes applied together (<= 100 a call).
    expect(env.fake.calls.itemCount('user/info/batchget') - profilesBefore).toBe(openids.length);
    expect(env.fake.calls.count('user/info/batchget') - callsBefore).toBeLessThan(openids.length / 2);
    expect(env.fake.calls.maxBatch('user/info/batchget')).toBeLessThanOrEqual(100);
    await eventually(async () => (await env.queue.getCompletedCount()) === jobs.size, 'every job completed');
    expect(await env.queue.getFailedCount()).toBe(0);
  });

  it('queues the same push delivered 4 times at once exactly once, and refuses it after removal', async () => {
    const others = env.fake.state.addFollowers(10);
    const [openid = ''] = env.fake.state.addFollowers(1);
    const xml = subscribeXml(openid);
    const responses = await Promise.all([
      ...others.map((o) => post(env.app, subscribeXml(o))),
      ...Array.from({ length: 4 }, () => post(env.app, xml)),
    ]);
    expect(responses.every((r) => r.status === 200)).toBe(true);
    const queued = await queuedPushes(env.queue);
    expect(queued.filter((q) => q.push.message.FromUserName === openid)).toHaveLength(1);
    expect(queued).toHaveLength(11);

    for (const job of new Set(queued.map((q) => q.job))) await job.remove();
    expect(await queuedPushes(env.queue)).toHaveLength(0);
    const retry = await post(env.app, xml);
    expect(await retry.text()).toBe('success');
    expect(await queuedPushes(env.queue)).toHaveLength(0);
  });

  it('caps the pushes per job (several jobs in one write when more piled up)', async () => {
    const { enqueueOnce } = createPushEnqueuer({
      redis: env.requestRedis,
      queue: env.queue,
      dedupePrefix: `${env.prefix}:wx-dedupe:`,
      dedupeTtlS: 60,
      budgetMs: 2000,
      maxPushesPerJob: 3,
    });
    const messages = Array.from({ length: 40 }, (_, i) => payload(`o-cap-${i}`, 1_700_000_000).message);
    const fresh = await Promise.all(messages.map((m) => enqueueOnce(m, new Date())));
    expect(fresh.every(Boolean)).toBe(true);
    expect(await enqueueOnce(messages[0] as WxMessage, new Date())).toBe(false);
    const queued = await queuedPushes(env.queue);
    expect(queued.map((q) => q.push.message.FromUserName).sort()).toEqual(
      messages.map((m) => m.FromUserName).sort(),
    );
    const perJob = new Map<string, number>();
    for (const q of queued) perJob.set(q.job.id ?? '', (perJob.get(q.job.id ?? '') ?? 0) + 1);
    expect(Math.max(...perJob.values())).toBeLessThanOrEqual(3);
    expect(Math.max(...perJob.values())).toBeGreaterThan(1);
  });

  it('answers 503 to every push of a failed write and releases their claims (WeChat retries them)', async () => {
    const dead = createRedis('redis://127.0.0.1:1', 'request');
    dead.on('error', () => undefined);
    const deadQueue = new Queue(QUEUE_NAMES.events, { connection: dead, prefix: env.prefix });
    deadQueue.on('error', () => undefined);
    // Claims work (live Redis), the queue write fails.
    const broken = createApp({
      config: env.config,
      log: env.log,
      redis: env.requestRedis,
      eventsQueue: deadQueue,
    });
    const rejected = async () =>
      (await wxEvents.get()).values
        .filter((v) => v.labels.result === 'rejected' && v.labels.reason === 'unavailable')
        .reduce((a, v) => a + v.value, 0);
    try {
      const openids = env.fake.state.addFollowers(20);
      const xmls = openids.map((openid) => subscribeXml(openid));
      const before = await rejected();
      const responses = await Promise.all(xmls.map((xml) => post(broken, xml)));
      expect(responses.map((r) => r.status)).toEqual(openids.map(() => 503));
      expect(await rejected()).toBe(before + openids.length);
      expect(await env.serviceRedis.keys(`${env.prefix}:wx-dedupe:*`)).toEqual([]);
      expect(await queuedPushes(env.queue)).toHaveLength(0);

      // WeChat's retries reach a healthy server: every one accepted and queued once.
      const retries = await Promise.all(xmls.map((xml) => post(env.app, xml)));
      expect(retries.map((r) => r.status)).toEqual(openids.map(() => 200));
      const queued = await queuedPushes(env.queue);
      expect(queued.map((q) => q.push.message.FromUserName).sort()).toEqual([...openids].sort());
    } finally {
      await deadQueue.close().catch(() => undefined);
      dead.disconnect();
    }
  });
});

describe('batch jobs in the worker', () => {
  it('hands a push that fails for good to its own job in the failed set; the batch completes', async () => {
    const [a = '', b = ''] = env.fake.state.addFollowers(2);
    const pushes = [
      payload(a, 1_700_000_100),
      payload('o-not-a-follower', 1_700_000_100),
      payload(b, 1_700_000_100),
    ];
    const spec = batchPushJob(
      pushes,
      pushes.map((p) => dedupeKey(p.message)),
    );
    await env.queue.add(spec.name, spec.data, spec.opts);
    startWorker();

    const failed = await eventually(async () => (await env.queue.getFailed())[0], 'the failed push job');
    expect(failed.name).toBe(EVENT_JOB);
    expect(failed.id).toBe(`wx-${dedupeKey(pushes[1]?.message as WxMessage)}`);
    expect(failed.data.message.FromUserName).toBe('o-not-a-follower');
    expect(failed.failedReason).toMatch(/40003/);
    expect(failed.attemptsMade).toBe(1);

    const batch = await eventually(async () => {
      const job = await env.queue.getJob(spec.opts.jobId);
      return (await job?.isCompleted()) ? job : undefined;
    }, 'the completed batch');
    expect(batch?.returnvalue).toMatchObject({ applied: 2, requeued: 1 });
    expect(await processedRows([a, b])).toBe(2);
    expect(await env.tdb.db.follower.count({ where: { openid: { in: [a, b] } } })).toBe(2);
    expect(await env.tdb.db.follower.count({ where: { openid: 'o-not-a-follower' } })).toBe(0);
  });

  it('retries pushes that failed transiently in their own jobs until they apply', async () => {
    const openids = env.fake.state.addFollowers(3);
    const pushes = openids.map((o) => payload(o, 1_700_000_200));
    const spec = batchPushJob(
      pushes,
      pushes.map((p) => dedupeKey(p.message)),
    );
    env.fake.faults.set('user/info/batchget', { errcode: -1, errorRate: 1 });
    await env.queue.add(spec.name, spec.data, spec.opts);
    startWorker();
    // Each push now has its own job, which failed its first attempt too and waits for its backoff.
    const singles = await eventually(async () => {
      const jobs = (await env.queue.getDelayed()).filter((j) => j?.name === EVENT_JOB && j.attemptsMade >= 1);
      return jobs.length === openids.length ? jobs : undefined;
    }, 'one retrying job per push');
    expect(singles.map((j) => j.data.message.FromUserName).sort()).toEqual([...openids].sort());
    expect(await processedRows(openids)).toBe(0);
    env.fake.faults.clear('user/info/batchget');
    await eventually(async () => (await processedRows(openids)) === openids.length, 'every push applied');
    for (const job of singles) {
      const done = await eventually(async () => {
        const j = await env.queue.getJob(job.id ?? '');
        return (await j?.isCompleted()) ? j : undefined;
      }, 'the single job completed');
      expect(done?.attemptsMade).toBeGreaterThanOrEqual(2);
    }
    expect(await env.tdb.db.followerEvent.count({ where: { openid: { in: openids } } })).toBe(openids.length);
  });
});
