/**
 * Admin routes of the fake platform (`/__fake/...`, JSON), the HTTP twin of the in-process
 * `state`, `calls`, `faults` and `push` objects: for tests in other processes, the demo and benchmarks.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { InputError } from '../errors.ts';
import type { CallCounter } from './calls.ts';
import { type FaultConfigInput, FaultRule, type Faults, type FaultTarget } from './faults.ts';
import { type OtherSystem, OtherSystemKind, OtherSystemRequest } from './other-system.ts';
import type { Pusher } from './push.ts';
import { QuotaLimits } from './quotas.ts';
import { type FakeState, ProfilePatch } from './state.ts';

const Openids = z.object({ openids: z.array(z.string()).min(1) });
const TagName = z.object({ name: z.string() });
const tagId = (param: string): number => {
  if (!/^\d{1,9}$/.test(param)) throw new InputError('tag id must be digits');
  return Number(param);
};
const AddFollowers = z.object({ n: z.number().int().min(0).max(1_000_000) });
const PushRequest = z.object({
  event: z.enum(['subscribe', 'unsubscribe', 'scan', 'text']),
  /** Omitted for subscribe: a brand-new follower is created first. */
  openid: z.string().optional(),
  qrScene: z.union([z.string(), z.number()]).optional(),
  content: z.string().optional(),
  applyToState: z.boolean().optional(),
  createTime: z.number().int().optional(),
});

async function body<T extends z.ZodType>(request: Request, schema: T): Promise<z.infer<T>> {
  let value: unknown;
  try {
    const text = await request.text();
    value = text ? JSON.parse(text) : {};
  } catch {
    throw new InputError('body is not JSON');
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new InputError(z.prettifyError(parsed.error));
  return parsed.data;
}

export function createAdminRoutes(deps: {
  state: FakeState;
  calls: CallCounter;
  faults: Faults;
  push?: Pusher;
  other?: OtherSystem;
}): Hono {
  const { state, calls, faults, push, other } = deps;
  const admin = new Hono();

  admin.get('/state', (c) => c.json(state.summary()));

  admin.get('/followers', (c) => c.json({ openids: state.followerOpenids() }));
  admin.post('/followers', async (c) => {
    const { n } = await body(c.req.raw, AddFollowers);
    return c.json({ openids: state.addFollowers(n) });
  });
  admin.get('/ex-followers', (c) => c.json({ openids: state.exFollowerOpenids() }));
  admin.post('/followers/:openid/unsubscribe', (c) =>
    c.json({ changed: state.unsubscribe(c.req.param('openid')) }),
  );
  admin.post('/followers/:openid/resubscribe', (c) =>
    c.json({ changed: state.resubscribe(c.req.param('openid')) }),
  );
  admin.get('/profile/:openid', (c) => c.json(state.profile(c.req.param('openid'))));
  admin.patch('/profile/:openid', async (c) =>
    c.json(state.editProfile(c.req.param('openid'), await body(c.req.raw, ProfilePatch))),
  );

  admin.get('/tags', (c) => c.json({ tags: state.tagList() }));
  admin.post('/tags', async (c) => c.json({ id: state.createTag((await body(c.req.raw, TagName)).name) }));
  admin.patch('/tags/:id', async (c) => {
    state.renameTag(tagId(c.req.param('id')), (await body(c.req.raw, TagName)).name);
    return c.json({ tags: state.tagList() });
  });
  admin.delete('/tags/:id', (c) => c.json({ changed: state.deleteTag(tagId(c.req.param('id'))) }));

  admin.get('/blacklist', (c) => c.json({ openids: state.blacklistOpenids() }));
  admin.post('/blacklist', async (c) =>
    c.json({ changed: state.blacklist((await body(c.req.raw, Openids)).openids) }),
  );
  admin.delete('/blacklist', async (c) =>
    c.json({ changed: state.unblacklist((await body(c.req.raw, Openids)).openids) }),
  );

  admin.get('/calls', (c) => c.json(calls.snapshot()));
  admin.delete('/calls', (c) => {
    calls.reset();
    return c.json(calls.snapshot());
  });

  admin.get('/faults', (c) => c.json(faults.snapshot()));
  /** Replaces the whole fault configuration: `{rules: {'*': {...}, 'user/get': {...}}, tokenExpiryEveryS}`. */
  admin.put('/faults', async (c) => {
    faults.configure((await body(c.req.raw, z.unknown())) as FaultConfigInput);
    return c.json(faults.snapshot());
  });
  /** Merges fields into one target's rule: `PATCH /__fake/faults/user%2Fget {"http502Rate":0.05}`. */
  admin.patch('/faults/:target', async (c) => {
    // Faults validates the target itself (InputError -> 400).
    faults.update(c.req.param('target') as FaultTarget, await body(c.req.raw, FaultRule));
    return c.json(faults.snapshot());
  });
  admin.delete('/faults/:target', (c) => {
    faults.clear(c.req.param('target') as FaultTarget);
    return c.json(faults.snapshot());
  });
  admin.delete('/faults', (c) => {
    faults.clear();
    return c.json(faults.snapshot());
  });

  admin.post('/token/expire', (c) => {
    faults.expireTokenNow();
    return c.json({ expired: true });
  });
  admin.put('/token/expire-every', async (c) => {
    const { seconds } = await body(c.req.raw, z.object({ seconds: z.number().positive().nullable() }));
    faults.expireTokenEvery(seconds);
    return c.json(faults.snapshot());
  });

  /** A stable token that APIs refuse (40001) while stable_token keeps handing it out; only force_refresh cures it. */
  admin.post('/token/poison-stable', (c) => c.json({ poisoned: state.tokens.poisonStable() }));

  /** Another system on the same appid: `{kind: 'classic'|'stable'|'force', everyS: 1}` (null stops it). */
  admin.get('/other-system', (c) => c.json(other?.snapshot() ?? {}));
  admin.put('/other-system', async (c) => {
    if (!other) throw new InputError('other-system is not available');
    const { kind, everyS } = await body(c.req.raw, OtherSystemRequest);
    other.set(kind, everyS);
    return c.json(other.snapshot());
  });
  admin.post('/other-system/:kind', async (c) => {
    if (!other) throw new InputError('other-system is not available');
    const kind = OtherSystemKind.safeParse(c.req.param('kind'));
    if (!kind.success) throw new InputError("kind must be 'classic', 'stable' or 'force'");
    return c.json({ errcode: await other.fetchOnce(kind.data) });
  });
  admin.delete('/other-system', (c) => {
    other?.stop();
    return c.json({});
  });

  /** The fake clock: `PUT {now: ISO or epoch ms}` jumps, `{advanceMs}` moves it on. */
  admin.get('/clock', (c) => c.json(state.clock.snapshot()));
  admin.put('/clock', async (c) => {
    const req = await body(
      c.req.raw,
      z.union([
        z.object({ now: z.union([z.iso.datetime({ offset: true }), z.number().int()]) }).strict(),
        z.object({ advanceMs: z.number().int() }).strict(),
      ]),
    );
    if ('now' in req) state.clock.set(typeof req.now === 'number' ? req.now : Date.parse(req.now));
    else state.clock.advance(req.advanceMs);
    return c.json(state.clock.snapshot());
  });

  /** Daily quotas: `PUT {limits?: {path: n}, used?: {path: n}}`. */
  admin.get('/quotas', (c) => c.json(state.quotas.snapshot()));
  admin.put('/quotas', async (c) => {
    const req = await body(
      c.req.raw,
      z.object({ limits: QuotaLimits.optional(), used: QuotaLimits.optional() }).strict(),
    );
    if (req.limits) state.quotas.setLimits(req.limits);
    if (req.used) state.quotas.setUsed(req.used);
    return c.json(state.quotas.snapshot());
  });

  /** What user/info and batchget answer: `PUT {profiles: 'modern'|'legacy'}`. */
  admin.put('/profiles', async (c) => {
    const req = await body(c.req.raw, z.object({ profiles: z.enum(['modern', 'legacy']) }));
    state.setProfiles(req.profiles);
    return c.json({ profiles: state.profiles });
  });

  admin.get('/push', (c) => {
    if (!push) throw new InputError('push is not available');
    return c.json(push.describe());
  });
  admin.put('/push', async (c) => {
    if (!push) throw new InputError('push is not available');
    push.configure(await body(c.req.raw, z.record(z.string(), z.unknown())));
    return c.json(push.describe());
  });
  admin.post('/push', async (c) => {
    if (!push) throw new InputError('push is not available');
    const req = await body(c.req.raw, PushRequest);
    const options = { applyToState: req.applyToState, qrScene: req.qrScene, createTime: req.createTime };
    if (req.event === 'subscribe' && req.openid === undefined) return c.json(await push.newFollower(options));
    if (req.openid === undefined) throw new InputError(`${req.event} needs an openid`);
    switch (req.event) {
      case 'subscribe':
        return c.json(await push.subscribe(req.openid, options));
      case 'unsubscribe':
        return c.json(await push.unsubscribe(req.openid, options));
      case 'scan':
        return c.json(await push.scan(req.openid, req.qrScene ?? 1, options));
      case 'text':
        return c.json(await push.text(req.openid, req.content ?? 'hello', { createTime: req.createTime }));
    }
  });

  return admin;
}
