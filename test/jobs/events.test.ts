/**
 * The events job without the HTTP side: dedupe keys, payload validation and error mapping, the
 * follower_events unique key as the last guard (a push that outlived every Redis window is
 * recorded once and never applied twice), and batching: profiles fetched with shared batchget
 * calls, a subscribe and an unsubscribe of one openid in one batch, a failing openid isolated, an
 * openid batchget leaves out. Every case runs twice: each job applied on its own, and through the
 * worker's PushBatcher (the pushes of concurrent jobs applied together). Real PostgreSQL and the
 * fake platform.
 */
import { randomBytes } from 'node:crypto';
import { type Job, UnrecoverableError } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPushes } from '../../jobs/events/apply.ts';
import { PushBatcher } from '../../jobs/events/batcher.ts';
import { type EventJobDeps, processEventJob, run } from '../../jobs/events/processor.ts';
import { batchPushJob, EVENT_BATCH_JOB, EVENT_JOB, type EventJobSpec } from '../../src/events/jobs.ts';
import {
  CREATE_TIME_MAX_S,
  dedupeKey,
  EVENT_KEY_MAX,
  eventName,
  FIELD_MAX,
  FIELDS_MAX,
  WxMessage,
} from '../../src/events/message.ts';
import { type FakeWeChat, startFakeWeChat } from '../../src/fake-wechat/index.ts';
import { createLogger } from '../../src/logger.ts';
import { eventProfilesLeftOut, jobDuration } from '../../src/metrics.ts';
import { createRedis } from '../../src/redis.ts';
import { createWeChatClient } from '../../src/wechat/client.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';
import { TEST_REDIS_URL } from '../support/env.ts';
import { testConfig } from '../support/wx.ts';

const base = { FromUserName: 'o-first', CreateTime: '1700000000', MsgType: 'event', Event: 'subscribe' };

describe('dedupeKey / eventName', () => {
  it('is stable for the same event and differs on each identifying field', () => {
    const key = dedupeKey(WxMessage.parse(base));
    expect(key).toMatch(/^[0-9a-f]{40}$/);
    expect(dedupeKey(WxMessage.parse({ ...base, ToUserName: 'gh_x' }))).toBe(key);
    expect(dedupeKey(WxMessage.parse({ ...base, FromUserName: 'o-second' }))).not.toBe(key);
    expect(dedupeKey(WxMessage.parse({ ...base, CreateTime: '1700000001' }))).not.toBe(key);
    expect(dedupeKey(WxMessage.parse({ ...base, Event: 'unsubscribe' }))).not.toBe(key);
    expect(dedupeKey(WxMessage.parse({ ...base, EventKey: 'qrscene_1' }))).not.toBe(key);
  });

  it('keys messages by sender + MsgId (MsgId alone has collided in practice)', () => {
    const text = { FromUserName: 'o-first', CreateTime: '1', MsgType: 'text', MsgId: '9223372036854775807' };
    const key = dedupeKey(WxMessage.parse(text));
    expect(dedupeKey(WxMessage.parse({ ...text, CreateTime: '2' }))).toBe(key);
    expect(dedupeKey(WxMessage.parse({ ...text, FromUserName: 'o-second' }))).not.toBe(key);
  });

  it('names events by Event and messages by MsgType', () => {
    expect(eventName(WxMessage.parse(base))).toBe('subscribe');
    expect(eventName(WxMessage.parse({ ...base, MsgType: 'image', Event: undefined }))).toBe('image');
  });
});

describe.each([
  ['each job on its own', false],
  ['through the batcher', true],
])('run / processEventJob, %s', (_name, batched) => {
  const prefix = `t-ev-${randomBytes(4).toString('hex')}`;
  let tdb: TestDatabase;
  let fake: FakeWeChat;
  let redis: Redis;
  let deps: EventJobDeps;

  beforeAll(async () => {
    tdb = await freshDatabase();
    fake = await startFakeWeChat({ followers: 300 });
    redis = createRedis(TEST_REDIS_URL, 'service');
    const config = testConfig({ QUEUE_PREFIX: prefix, WECHAT_API_BASE: fake.url, WECHAT_MAX_ATTEMPTS: '1' });
    const base = {
      db: tdb.db,
      wechat: createWeChatClient(config, { redis, log: createLogger('silent') }),
      log: createLogger('silent'),
    };
    deps = batched
      ? { ...base, batcher: new PushBatcher({ waitMs: 50, apply: (pushes) => applyPushes(pushes, base) }) }
      : base;
  });

  /** Profile calls so far: events fetch with batchget (user/info would count here too). */
  const profileCalls = () => fake.calls.count('user/info/batchget') + fake.calls.count('user/info');

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await fake?.close();
    await tdb?.drop();
  });

  const payloadFor = (message: Record<string, string>) => ({
    message: WxMessage.parse(message),
    receivedAt: new Date().toISOString(),
  });

  it('applies a subscribe once; the same event again is recorded once and not re-applied', async () => {
    const [openid = ''] = fake.state.followerOpenids();
    const payload = payloadFor({ ...base, FromUserName: openid });
    const before = profileCalls();
    expect(await run({ payload, deps })).toBe('applied');
    expect(profileCalls() - before).toBe(1);
    expect((await tdb.db.follower.findUnique({ where: { openid } }))?.subscribe).toBe(true);
    // Later (every Redis window gone), the same push arrives as a new job:
    expect(await run({ payload, deps })).toBe('already_processed');
    expect(profileCalls() - before).toBe(1);
    expect(await tdb.db.followerEvent.count({ where: { openid } })).toBe(1);
  });

  it('does not let a replayed old unsubscribe undo a later state', async () => {
    const [, openid = ''] = fake.state.followerOpenids();
    const unsub = payloadFor({ ...base, FromUserName: openid, Event: 'unsubscribe' });
    expect(await run({ payload: unsub, deps })).toBe('applied');
    expect((await tdb.db.follower.findUnique({ where: { openid } }))?.subscribe).toBe(false);
    const sub = payloadFor({ ...base, FromUserName: openid, CreateTime: '1700000100' });
    expect(await run({ payload: sub, deps })).toBe('applied');
    expect((await tdb.db.follower.findUnique({ where: { openid } }))?.subscribe).toBe(true);
    expect(await run({ payload: unsub, deps })).toBe('already_processed');
    expect((await tdb.db.follower.findUnique({ where: { openid } }))?.subscribe).toBe(true);
  });

  it('records other events without touching followers', async () => {
    const openid = 'o-click-only';
    expect(
      await run({
        payload: payloadFor({ ...base, FromUserName: openid, Event: 'CLICK', EventKey: 'K' }),
        deps,
      }),
    ).toBe('recorded');
    expect(await tdb.db.follower.findUnique({ where: { openid } })).toBeNull();
    const [row] = await tdb.db.followerEvent.findMany({ where: { openid } });
    expect(row).toMatchObject({ event: 'CLICK', eventKey: 'K', msgType: 'event' });
    expect(row?.processedAt).not.toBeNull();
  });

  it('stores every push the /wx schema accepts at its limits (PostgreSQL and the unique index take them)', async () => {
    const openid = `o${'x'.repeat(63)}`;
    // 4-byte characters: the longest EventKey in UTF-8 bytes, inside the btree row limit.
    const eventKey = '😀'.repeat(EVENT_KEY_MAX / 2);
    const longest = {
      ...base,
      FromUserName: openid,
      ToUserName: 'g'.repeat(64),
      CreateTime: String(CREATE_TIME_MAX_S),
      Event: 'E'.repeat(64),
      EventKey: eventKey,
      MsgId: '9'.repeat(24),
      Content: `tab\tnewline\n${'中'.repeat(FIELD_MAX - 12)}`,
      ...Object.fromEntries(Array.from({ length: FIELDS_MAX - 8 }, (_, i) => [`Extra${i}`, 'v'])),
    };
    expect(Object.keys(longest)).toHaveLength(FIELDS_MAX);
    expect(await run({ payload: payloadFor(longest), deps })).toBe('recorded');
    const [row] = await tdb.db.followerEvent.findMany({ where: { openid } });
    expect(row?.eventKey).toBe(eventKey);
    expect(row?.createTime.toISOString()).toBe('9999-12-31T23:59:59.000Z');
    const oldest = { ...base, FromUserName: openid, CreateTime: '1', Event: 'LOCATION' };
    expect(await run({ payload: payloadFor(oldest), deps })).toBe('recorded');
  });

  it('refuses what PostgreSQL would refuse, before any write', () => {
    const bad: Array<Record<string, string>> = [
      { ...base, Content: 'nul\u0000byte' },
      { ...base, EventKey: 'bell\u0007' },
      { ...base, Content: 'lone \ud800 surrogate' },
      { ...base, CreateTime: String(CREATE_TIME_MAX_S + 1) },
      { ...base, CreateTime: '0' },
      { ...base, CreateTime: '-1' },
      { ...base, CreateTime: '1.5' },
      { ...base, EventKey: 'k'.repeat(EVENT_KEY_MAX + 1) },
      { ...base, Content: 'c'.repeat(FIELD_MAX + 1) },
      { ...base, FromUserName: '<script>alert(1)</script>' },
      { ...base, FromUserName: `o'"quoted"` },
      { ...base, FromUserName: 'o'.repeat(128) },
      { ...base, MsgType: 'a b' },
      { ...base, Event: 'x'.repeat(65) },
      { ...base, ...Object.fromEntries(Array.from({ length: FIELDS_MAX }, (_, i) => [`F${i}`, 'v'])) },
    ];
    for (const message of bad) {
      expect(WxMessage.safeParse(message).success, JSON.stringify(message).slice(0, 80)).toBe(false);
    }
  });

  it('keeps two menu clicks of one second as two rows, and send reports apart by MsgID', async () => {
    const openid = 'o-two-clicks';
    const click = (key: string) =>
      payloadFor({ ...base, FromUserName: openid, Event: 'CLICK', EventKey: key, CreateTime: '1700000500' });
    expect(dedupeKey(click('A').message)).not.toBe(dedupeKey(click('B').message));
    expect(await run({ payload: click('A'), deps })).toBe('recorded');
    expect(await run({ payload: click('B'), deps })).toBe('recorded');
    expect(await run({ payload: click('A'), deps })).toBe('already_processed');
    const keys = (await tdb.db.followerEvent.findMany({ where: { openid } })).map((r) => r.eventKey).sort();
    expect(keys).toEqual(['A', 'B']);

    const report = (msgId: string) =>
      payloadFor({ ...base, FromUserName: 'o-report', Event: 'TEMPLATESENDJOBFINISH', MsgID: msgId });
    expect(dedupeKey(report('1001').message)).not.toBe(dedupeKey(report('1002').message));
    expect(await run({ payload: report('1001'), deps })).toBe('recorded');
    expect(await run({ payload: report('1002'), deps })).toBe('recorded');
    expect(await tdb.db.followerEvent.count({ where: { openid: 'o-report' } })).toBe(2);
  });

  it('maps a bad payload and an unknown job name to UnrecoverableError (no retries)', async () => {
    const bad = { name: EVENT_JOB, data: { message: { FromUserName: 'x' } } } as unknown as Job;
    await expect(processEventJob(bad, deps)).rejects.toBeInstanceOf(UnrecoverableError);
    const unknown = { name: 'other', data: payloadFor(base) } as unknown as Job;
    await expect(processEventJob(unknown, deps)).rejects.toBeInstanceOf(UnrecoverableError);
  });

  it('labels job durations with our job names only: a name read from Redis makes no new series', async () => {
    const names = [...Array(20)].map((_, i) => `stray-${i}-${randomBytes(3).toString('hex')}`);
    for (const name of names) {
      await processEventJob({ name, data: payloadFor(base) } as unknown as Job, deps).catch(() => undefined);
    }
    const labelled = new Set((await jobDuration.get()).values.map((v) => String(v.labels.name)));
    for (const name of names) expect(labelled.has(name)).toBe(false);
    expect(labelled.has('other')).toBe(true);
  });

  it('rethrows a transient WeChat error as is (BullMQ retries) and a permanent one as UnrecoverableError', async () => {
    const [, , openid = ''] = fake.state.followerOpenids();
    const job = {
      name: EVENT_JOB,
      data: payloadFor({ ...base, FromUserName: openid, CreateTime: '1700000200' }),
    } as unknown as Job;
    fake.faults.set('user/info/batchget', { errcode: -1, errorRate: 1 });
    try {
      const transient = await processEventJob(job, deps).catch((e: unknown) => e);
      expect(transient).toBeInstanceOf(Error);
      expect(transient).not.toBeInstanceOf(UnrecoverableError);
      fake.faults.set('user/info/batchget', { errcode: 40003, errorRate: 1 });
      const job2 = {
        name: EVENT_JOB,
        data: payloadFor({ ...base, FromUserName: openid, CreateTime: '1700000300' }),
      } as unknown as Job;
      const permanent = await processEventJob(job2, deps).catch((e: unknown) => e);
      expect(permanent).toBeInstanceOf(UnrecoverableError);
      expect(String((permanent as Error).message)).toMatch(/40003/);
    } finally {
      fake.faults.clear('user/info/batchget');
    }
    // The transient one succeeds on its next attempt.
    expect(await processEventJob(job, deps)).toBe('applied');
  });

  const batchJob = (pushes: unknown[]) =>
    ({ id: 'wxb-test', name: EVENT_BATCH_JOB, data: { pushes } }) as unknown as Job;

  it('applies a batch together; a failing openid fails alone; a failed hand-over fails the batch for a retry that converges', async () => {
    const [, , , a = '', b = ''] = fake.state.followerOpenids();
    const pushes = [
      payloadFor({ ...base, FromUserName: a, CreateTime: '1700000400' }),
      payloadFor({ ...base, FromUserName: 'o-unknown-to-wechat', CreateTime: '1700000400' }),
      payloadFor({ ...base, FromUserName: b, CreateTime: '1700000400' }),
    ];
    const before = profileCalls();
    const failing = await processEventJob(batchJob(pushes), {
      ...deps,
      requeue: async () => {
        throw new Error('Redis went away');
      },
    }).catch((e: unknown) => e);
    // Retryable: BullMQ runs the batch again; nothing of the failed push is lost meanwhile.
    expect(failing).toBeInstanceOf(Error);
    expect(failing).not.toBeInstanceOf(UnrecoverableError);
    expect(
      await tdb.db.followerEvent.count({ where: { openid: { in: [a, b] }, processedAt: { not: null } } }),
    ).toBe(2);

    const handed: EventJobSpec[] = [];
    const result = await processEventJob(batchJob(pushes), {
      ...deps,
      requeue: async (jobs) => {
        handed.push(...jobs);
      },
    });
    expect(result).toEqual({ applied: 0, recorded: 0, already_processed: 2, requeued: 1 });
    expect(handed).toEqual([
      {
        name: EVENT_JOB,
        data: pushes[1],
        opts: expect.objectContaining({ jobId: `wx-${dedupeKey(pushes[1]?.message as WxMessage)}` }),
      },
    ]);
    // First run: one call for the three, refused (40003) for the unknown openid, then split until
    // it is alone: [a, unknown] -> [a], [unknown]; and [b]. Second run: the unknown one alone.
    expect(profileCalls() - before).toBe(6);
    expect(fake.calls.maxBatch('user/info/batchget')).toBeLessThanOrEqual(100);
    const stored = await tdb.db.follower.findMany({
      where: { openid: { in: [a, b, 'o-unknown-to-wechat'] } },
    });
    expect(stored.map((f) => f.openid).sort()).toEqual([a, b].sort());
  });

  it('hands an invalid push of a batch to its own job, where it fails with its reason', async () => {
    const [, , , , , c = ''] = fake.state.followerOpenids();
    const good = payloadFor({ ...base, FromUserName: c, CreateTime: '1700000500' });
    const bad = { message: { FromUserName: 'x' }, receivedAt: 'yesterday' };
    const handed: EventJobSpec[] = [];
    const result = await processEventJob(batchJob([good, bad]), {
      ...deps,
      requeue: async (jobs) => {
        handed.push(...jobs);
      },
    });
    expect(result).toMatchObject({ applied: 1, requeued: 1 });
    expect(handed).toHaveLength(1);
    expect(handed[0]?.opts.jobId).toMatch(/^wx-invalid-[0-9a-f]{40}$/);
    const own = { name: handed[0]?.name, data: handed[0]?.data } as unknown as Job;
    const error = await processEventJob(own, deps).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect(String((error as Error).message)).toMatch(/invalid events payload/);
  });

  it('refuses a batch job whose payload is not a list of pushes (UnrecoverableError)', async () => {
    const job = { name: EVENT_BATCH_JOB, data: { pushes: [] } } as unknown as Job;
    await expect(processEventJob(job, deps)).rejects.toBeInstanceOf(UnrecoverableError);
  });

  it('gives a batch a job id derived from its pushes (a replayed write is one job)', () => {
    const p = [payloadFor(base), payloadFor({ ...base, FromUserName: 'o-second' })];
    const keys = p.map((x) => dedupeKey(x.message));
    const id = batchPushJob(p, keys).opts.jobId;
    expect(id).toMatch(/^wxb-[0-9a-f]{40}$/);
    expect(batchPushJob(p, keys).opts.jobId).toBe(id);
    expect(batchPushJob(p, [...keys].reverse()).opts.jobId).not.toBe(id);
  });

  const noRequeue = async () => {
    throw new Error('nothing should fail here');
  };

  it('a subscribe and an unsubscribe of one openid in one batch end as the later push says, with one profile call', async () => {
    const openids = fake.state.followerOpenids();
    const [x = '', y = ''] = [openids[20], openids[21]];
    const at = (seconds: number) => new Date(seconds * 1000);
    // x follows, then leaves a second later; WeChat's answer (fetched after both) still says
    // following, as a lagging answer would: the unsubscribe is newer and wins. y leaves, then
    // comes back: following.
    const pushes = [
      payloadFor({ ...base, FromUserName: x, CreateTime: '1700001000' }),
      payloadFor({ ...base, FromUserName: y, CreateTime: '1700001000', Event: 'unsubscribe' }),
      payloadFor({ ...base, FromUserName: x, CreateTime: '1700001001', Event: 'unsubscribe' }),
      payloadFor({ ...base, FromUserName: y, CreateTime: '1700001001' }),
    ];
    const before = profileCalls();
    const result = await processEventJob(batchJob(pushes), { ...deps, requeue: noRequeue });
    expect(result).toEqual({ applied: 4, recorded: 0, already_processed: 0, requeued: 0 });
    expect(profileCalls() - before).toBe(1);
    expect(await tdb.db.follower.findUnique({ where: { openid: x } })).toMatchObject({
      subscribe: false,
      unsubscribedAt: at(1700001001),
    });
    expect(await tdb.db.follower.findUnique({ where: { openid: y } })).toMatchObject({
      subscribe: true,
      unsubscribedAt: null,
    });
    // Applied in the pushes' order, so follower_history has both periods of each.
    const periods = async (openid: string) =>
      (await tdb.db.followerHistory.findMany({ where: { openid }, orderBy: { validFrom: 'asc' } })).map(
        (h) => [h.subscribe, h.validFrom.getTime() / 1000],
      );
    expect(await periods(x)).toEqual([
      [true, 1700001000],
      [false, 1700001001],
    ]);
    expect(await periods(y)).toEqual([
      [false, 1700001000],
      [true, 1700001001],
    ]);
    expect(
      await tdb.db.followerEvent.count({ where: { openid: { in: [x, y] }, processedAt: { not: null } } }),
    ).toBe(4);
  });

  it('subscribes share batchget calls of at most 100 openids', async () => {
    const fresh = fake.state.addFollowers(250);
    const pushFor = (openid: string) =>
      payloadFor({ ...base, FromUserName: openid, CreateTime: '1700002000' });
    let before = profileCalls();
    const result = await processEventJob(batchJob(fresh.map(pushFor)), { ...deps, requeue: noRequeue });
    expect(result).toMatchObject({ applied: 250, requeued: 0 });
    expect(profileCalls() - before).toBe(3);
    expect(fake.calls.maxBatch('user/info/batchget')).toBeLessThanOrEqual(100);
    expect(await tdb.db.follower.count({ where: { openid: { in: fresh }, subscribe: true } })).toBe(250);
    if (!batched) return;
    // Through the batcher, 250 single-push jobs running at once share the calls the same way.
    const more = fake.state.addFollowers(250);
    before = profileCalls();
    const outcomes = await Promise.all(more.map((openid) => run({ payload: pushFor(openid), deps })));
    expect(outcomes.every((o) => o === 'applied')).toBe(true);
    expect(profileCalls() - before).toBe(3);
    expect(await tdb.db.follower.count({ where: { openid: { in: more }, subscribe: true } })).toBe(250);
  });

  it('an openid batchget leaves out keeps its stored profile, is confirmed as following and never invented', async () => {
    const openids = fake.state.followerOpenids();
    const [known = '', unknown = ''] = [openids[40], openids[41]];
    expect(
      await run({ payload: payloadFor({ ...base, FromUserName: known, CreateTime: '1700003000' }), deps }),
    ).toBe('applied');
    const stored = await tdb.db.follower.findUniqueOrThrow({ where: { openid: known } });
    const leftOutBefore = (await eventProfilesLeftOut.get()).values[0]?.value ?? 0;
    fake.faults.set('user/info/batchget', { omitRate: 1 });
    try {
      const again = payloadFor({ ...base, FromUserName: known, CreateTime: '1700003100' });
      const first = payloadFor({ ...base, FromUserName: unknown, CreateTime: '1700003100' });
      expect(await Promise.all([run({ payload: again, deps }), run({ payload: first, deps })])).toEqual([
        'recorded',
        'recorded',
      ]);
    } finally {
      fake.faults.clear('user/info/batchget');
    }
    const after = await tdb.db.follower.findUniqueOrThrow({ where: { openid: known } });
    expect({ ...after, membershipConfirmedAt: undefined }).toEqual({
      ...stored,
      membershipConfirmedAt: undefined,
    });
    expect(after.membershipConfirmedAt!.getTime()).toBeGreaterThan(stored.membershipConfirmedAt!.getTime());
    expect(await tdb.db.follower.findUnique({ where: { openid: unknown } })).toBeNull();
    expect(
      await tdb.db.followerEvent.count({
        where: { openid: { in: [known, unknown] }, processedAt: { not: null } },
      }),
    ).toBe(3);
    expect((await eventProfilesLeftOut.get()).values[0]?.value).toBe(leftOutBefore + 2);
  });
});
