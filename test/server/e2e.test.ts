/**
 * End to end over real HTTP: the fake platform creates followers and pushes their events to our
 * /wx (served by @hono/node-server), the events worker fetches profiles (batchget) from the fake and writes
 * PostgreSQL. No timing assertions: everything is polled.
 */
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { queuedPushes } from '../../src/events/queued.ts';
import { eventsTestEnv } from '../support/events-env.ts';
import { perFile } from '../support/per-file.ts';
import { eventually } from '../support/processes.ts';
import { plainQuery } from '../support/wx.ts';

const env = perFile(async () => {
  const env = await eventsTestEnv({
    name: 'e2e',
    fake: { followers: 20 },
    // One HTTP attempt per job attempt, so job-level retries are what the tests below observe.
    config: { WECHAT_MAX_ATTEMPTS: '1' },
  });
  await env.listen();
  env.startWorker({ concurrency: 2, batchWaitMs: 50 });
  return env;
});

/** The jobs carrying `openid`'s pushes, one entry per push (a batch job may carry several). */
const jobsFor = async (openid: string) =>
  (await queuedPushes(env.queue)).filter((q) => q.push.message.FromUserName === openid).map((q) => q.job);

const follower = (openid: string) => env.tdb.db.follower.findUnique({ where: { openid } });
const eventRows = (openid: string) =>
  env.tdb.db.followerEvent.findMany({ where: { openid }, orderBy: { id: 'asc' } });

describe.each(['plain', 'safe', 'compat'] as const)('subscribe pushed in %s mode', (mode) => {
  it('becomes a followers row with the profile the fake holds', async () => {
    env.fake.push.configure({ mode });
    const result = await env.fake.push.newFollower({ qrScene: 4242 });
    expect(result.attempts, JSON.stringify(result.attempts)).toHaveLength(1);
    expect(result.ok).toBe(true);
    expect(result.body).toBe('success');
    const row = await eventually(() => follower(result.openid), 'the followers row');
    const profile = env.fake.state.profile(result.openid);
    expect(row.subscribe).toBe(true);
    expect(row.nickname).toBe(profile.nickname ?? null);
    expect(row.unionid).toBe(profile.unionid ?? null);
    expect(row.language).toBe(profile.language ?? null);
    expect(row.subscribeTime?.getTime()).toBe((profile.subscribe_time ?? 0) * 1000);
    expect(row.subscribeScene).toBe(profile.subscribe_scene ?? null);
    const events = await eventually(async () => {
      const rows = await eventRows(result.openid);
      return rows[0]?.processedAt ? rows : undefined;
    }, 'the processed event row');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      event: 'subscribe',
      msgType: 'event',
      eventKey: 'qrscene_4242',
      msgId: '',
    });
    expect(events[0]?.createTime.getTime()).toBe(result.createTime * 1000);
    expect((events[0]?.payload as Record<string, string> | undefined)?.Ticket).toBeTruthy();
  });
});

describe('WeChat retries', () => {
  it('the same push delivered 4 times yields one queued push, one profile fetched and one event row', async () => {
    env.fake.push.configure({ mode: 'safe' });
    const [openid] = env.fake.state.addFollowers(1);
    const createTime = Math.floor(Date.now() / 1000) - 5;
    const callsBefore = env.fake.calls.count('user/info/batchget');
    const profilesBefore = env.fake.calls.itemCount('user/info/batchget');
    for (let i = 0; i < 4; i++) {
      const r = await env.fake.push.subscribe(openid ?? '', { createTime, applyToState: false });
      expect(r.ok).toBe(true);
    }
    await eventually(async () => (await eventRows(openid ?? ''))[0]?.processedAt, 'the processed event');
    await eventually(
      async () => (await env.queue.getActiveCount()) === 0 && (await env.queue.getWaitingCount()) === 0,
      'idle queue',
    );
    expect(await jobsFor(openid ?? '')).toHaveLength(1);
    expect(await eventRows(openid ?? '')).toHaveLength(1);
    expect(env.fake.calls.count('user/info/batchget') - callsBefore).toBe(1);
    expect(env.fake.calls.itemCount('user/info/batchget') - profilesBefore).toBe(1);
  });
});

describe('unsubscribe and other messages', () => {
  it('unsubscribe flips the row; a text message is recorded only', async () => {
    env.fake.push.configure({ mode: 'plain' });
    const sub = await env.fake.push.newFollower();
    await eventually(() => follower(sub.openid), 'the subscribed row');
    const unsub = await env.fake.push.unsubscribe(sub.openid, { createTime: sub.createTime + 60 });
    expect(unsub.ok).toBe(true);
    const row = await eventually(async () => {
      const r = await follower(sub.openid);
      return r && !r.subscribe ? r : undefined;
    }, 'the unsubscribed row');
    expect(row.unsubscribedAt?.getTime()).toBe((sub.createTime + 60) * 1000);

    const msgId = '9223372036854775801';
    const text = await env.fake.push.text(sub.openid, 'hi 👋', { msgId });
    expect(text.body).toBe('success');
    const events = await eventually(async () => {
      const rows = await eventRows(sub.openid);
      return rows.length === 3 && rows.every((r) => r.processedAt) ? rows : undefined;
    }, 'three processed events');
    expect(events.map((e) => e.event)).toEqual(['subscribe', 'unsubscribe', 'text']);
    expect(events[2]?.msgId).toBe(msgId);
    expect((events[2]?.payload as Record<string, string> | undefined)?.Content).toBe('hi 👋');
    expect((await follower(sub.openid))?.subscribe).toBe(false); // the text did not touch the row
  });
});

describe('worker failures', () => {
  it('retries a transient WeChat error with backoff, then applies the event', async () => {
    env.fake.push.configure({ mode: 'plain' });
    env.fake.faults.set('user/info/batchget', { errcode: -1, errorRate: 1 });
    const result = await env.fake.push.newFollower();
    const [job] = await eventually(async () => {
      const jobs = await jobsFor(result.openid);
      return jobs[0] && jobs[0].attemptsMade >= 1 ? jobs : undefined;
    }, 'a failed first attempt');
    expect(await follower(result.openid)).toBeNull();
    env.fake.faults.clear('user/info/batchget');
    const row = await eventually(() => follower(result.openid), 'the row after a retry');
    expect(row.subscribe).toBe(true);
    const done = await env.queue.getJob(job?.id ?? '');
    expect(done?.attemptsMade).toBeGreaterThanOrEqual(2);
  });

  it('puts a job with a permanent WeChat error in the failed set at once, with its reason', async () => {
    env.fake.push.configure({ mode: 'plain' });
    env.fake.faults.set('user/info/batchget', { errcode: 48001, errorRate: 1 });
    try {
      const result = await env.fake.push.newFollower();
      const failed = await eventually(async () => {
        const jobs = await env.queue.getFailed();
        return jobs.find((j) => j.data.message?.FromUserName === result.openid);
      }, 'the failed job');
      expect(failed.failedReason).toMatch(/48001/);
      expect(failed.attemptsMade).toBe(1);
      expect(failed.failedReason).not.toMatch(/access_token=[^[]/);
      expect(await follower(result.openid)).toBeNull();
    } finally {
      env.fake.faults.clear('user/info/batchget');
    }
  });
});

describe('real HTTP limits', () => {
  it('refuses a 1 MiB chunked body with 413 and keeps serving', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${env.baseUrl}/wx?${plainQuery().query}`, {
        method: 'POST',
        headers: { 'Content-Type': 'text/xml', 'Transfer-Encoding': 'chunked' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', (error) =>
        String(error).includes('EPIPE') || String(error).includes('ECONNRESET') ? undefined : reject(error),
      );
      const chunk = Buffer.alloc(64 * 1024, 'a');
      for (let i = 0; i < 16; i++) req.write(chunk);
      req.end();
    });
    expect(status).toBe(413);
    const ok = await env.fake.push.newFollower();
    expect(ok.ok).toBe(true);
  });
});
