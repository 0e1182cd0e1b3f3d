/**
 * PushBatcher's timing rules as behaviour (unit tests, `apply` stubbed; the real applyPushes runs
 * in events.test.ts): a lone push is not held back at all, a push waiting behind a batch in flight
 * is held at most the configured wait (fake timers), 100 openids make a full batch, one openid's
 * pushes keep their order across batches, a failing apply fails its own batch's pushes only.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PushResult } from '../../jobs/events/apply.ts';
import { PushBatcher } from '../../jobs/events/batcher.ts';
import type { EventJobPayload } from '../../src/events/jobs.ts';
import { WxMessage } from '../../src/events/message.ts';

const push = (openid: string, event = 'subscribe'): EventJobPayload => ({
  message: WxMessage.parse({
    FromUserName: openid,
    CreateTime: '1700000000',
    MsgType: 'event',
    Event: event,
  }),
  receivedAt: new Date(0).toISOString(),
});

/** An `apply` whose batches the test completes by hand, recording what each held. */
function controlledApply() {
  const batches: Array<{ openids: string[]; finish(): void }> = [];
  const apply = vi.fn(
    (pushes: EventJobPayload[]) =>
      new Promise<PushResult[]>((resolve) => {
        batches.push({
          openids: pushes.map((p) => p.message.FromUserName),
          finish: () => resolve(pushes.map(() => ({ outcome: 'applied' }))),
        });
      }),
  );
  return { apply, batches };
}

/** Lets promise callbacks and setImmediate run (fake timers leave setImmediate alone here). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A batcher on a controlledApply with one batch in flight: `openid`'s push, left at once. */
async function withBatchInFlight(waitMs: number, openid: string) {
  const { apply, batches } = controlledApply();
  const batcher = new PushBatcher({ waitMs, apply });
  const first = batcher.submit([push(openid)]);
  await settle();
  return { batches, batcher, first };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('PushBatcher', () => {
  it('applies a lone push at once, whatever the configured wait', async () => {
    const apply = vi.fn(async (pushes: EventJobPayload[]) =>
      pushes.map((): PushResult => ({ outcome: 'applied' })),
    );
    // An hour of wait: if a lone push waited for it, this test would time out.
    const batcher = new PushBatcher({ waitMs: 3_600_000, apply });
    expect(await batcher.submit([push('o-lone1')])).toEqual([{ outcome: 'applied' }]);
    expect(apply).toHaveBeenCalledTimes(1);
  });

  it('sends the pushes of one submit (one job) as one batch', async () => {
    const apply = vi.fn(async (pushes: EventJobPayload[]) =>
      pushes.map((): PushResult => ({ outcome: 'applied' })),
    );
    const batcher = new PushBatcher({ waitMs: 1000, apply });
    await batcher.submit([push('o-aaaa'), push('o-bbbb'), push('o-cccc', 'unsubscribe')]);
    expect(apply).toHaveBeenCalledTimes(1);
    expect(apply.mock.calls[0]?.[0]).toHaveLength(3);
  });

  it('holds a push behind a batch in flight for at most the configured wait', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { batches, batcher, first } = await withBatchInFlight(200, 'o-first');
    expect(batches).toHaveLength(1);
    // A second push while the first batch is in flight (its batchget call taking long).
    const second = batcher.submit([push('o-second')]);
    await settle();
    await vi.advanceTimersByTimeAsync(199);
    expect(batches).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(batches).toHaveLength(2);
    expect(batches[1]?.openids).toEqual(['o-second']);
    batches[1]?.finish();
    // It did not wait for the first batch either: it is applied while the first is still in flight.
    expect(await second).toEqual([{ outcome: 'applied' }]);
    batches[0]?.finish();
    await first;
  });

  it('lets waiting pushes go as soon as the batch in flight finishes, before the wait is over', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { batches, batcher, first } = await withBatchInFlight(10_000, 'o-one1');
    const waiting = [batcher.submit([push('o-two2')]), batcher.submit([push('o-three3')])];
    await settle();
    expect(batches).toHaveLength(1);
    batches[0]?.finish();
    await first;
    await settle();
    expect(batches).toHaveLength(2);
    expect(batches[1]?.openids).toEqual(['o-two2', 'o-three3']);
    batches[1]?.finish();
    await Promise.all(waiting);
  });

  it('sends a batch as soon as it holds 100 subscribing openids (one batchget call)', async () => {
    const { batches, batcher, first } = await withBatchInFlight(60_000, 'o-busy1');
    const many = batcher.submit(Array.from({ length: 150 }, (_, i) => push(`o-many${i}`)));
    await settle();
    // 100 left at once although a batch is in flight; the other 50 wait.
    expect(batches.map((b) => b.openids.length)).toEqual([1, 100]);
    for (const b of batches) b.finish();
    await first;
    await settle();
    expect(batches.map((b) => b.openids.length)).toEqual([1, 100, 50]);
    batches[2]?.finish();
    expect(await many).toHaveLength(150);
  });

  it("keeps one openid's pushes in order across batches", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { apply, batches } = controlledApply();
    const batcher = new PushBatcher({ waitMs: 10, apply });
    const subscribe = batcher.submit([
      push('o-same1'),
      ...Array.from({ length: 99 }, (_, i) => push(`o-xxxx${i}`)),
    ]);
    await settle();
    // The batch above is full and in flight; the same openid's unsubscribe goes in the next one...
    const unsubscribe = batcher.submit([push('o-same1', 'unsubscribe')]);
    await settle();
    await vi.advanceTimersByTimeAsync(10);
    // ...which has left (two batches in flight) but is not applied until the first is done.
    expect(batcher.batchesInFlight).toBe(2);
    expect(batches).toHaveLength(1);
    batches[0]?.finish();
    await subscribe;
    await settle();
    expect(batches).toHaveLength(2);
    expect(batches[1]?.openids).toEqual(['o-same1']);
    batches[1]?.finish();
    await unsubscribe;
  });

  it('a failing apply fails the pushes of its batch, each with the reason, and not the next batch', async () => {
    let calls = 0;
    const batcher = new PushBatcher({
      waitMs: 0,
      apply: async (pushes) => {
        calls++;
        if (calls === 1) throw new Error('database went away');
        return pushes.map(() => ({ outcome: 'applied' }));
      },
    });
    const failed = await batcher.submit([push('o-aaaa'), push('o-bbbb')]);
    expect(failed).toEqual([
      { error: new Error('database went away') },
      { error: new Error('database went away') },
    ]);
    expect(await batcher.submit([push('o-cccc')])).toEqual([{ outcome: 'applied' }]);
  });
});
