/**
 * The fake WeChat platform: a Hono app that behaves like api.weixin.qq.com for every endpoint
 * wxsync calls, plus admin routes (/__fake/...) to mutate its state, read its call counter, inject
 * faults and push callback events. Tests, the demo and benchmarks run against it over real HTTP.
 *
 *   const wx = await startFakeWeChat({ followers: 25_001, seed: 7 });
 *   // wx.url -> http://127.0.0.1:<random port>; point the client's base URL at it
 *   wx.state.addFollowers(3); wx.calls.count('token'); wx.faults.set('*', { errcode: -1, errorRate: 0.1 });
 *   await wx.close();
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { WxsyncError } from '../errors.ts';
import { createAdminRoutes } from './admin.ts';
import { createWeChatRoutes, wechatError } from './app.ts';
import { CallCounter } from './calls.ts';
import { type FaultConfigInput, Faults } from './faults.ts';
import { OtherSystem } from './other-system.ts';
import { hash32, seedOf } from './prng.ts';
import { type PushConfigInput, Pusher } from './push.ts';
import { DEFAULT_DATA_OPTIONS, type FakeDataOptions, FakeState } from './state.ts';

export type { CallsSnapshot, FakeEndpoint } from './calls.ts';
export { CallCounter, FAKE_ENDPOINTS } from './calls.ts';
export type { FaultAction, FaultConfig, FaultConfigInput, FaultRule, FaultTarget } from './faults.ts';
export { Faults, parseFaultSpec } from './faults.ts';
export type { OtherSystemKind } from './other-system.ts';
export { OtherSystem } from './other-system.ts';
export type { PushConfig, PushConfigInput, PushMode, PushResult } from './push.ts';
export { Pusher } from './push.ts';
export { DEFAULT_DAILY_LIMITS, type QuotaLimits, Quotas } from './quotas.ts';
export type { FakeDataOptions, ProfileMode, ProfilePatch } from './state.ts';
export { DEFAULT_DATA_OPTIONS, FakeState } from './state.ts';

export interface FakeWeChatOptions extends Partial<FakeDataOptions> {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a random free port. */
  port?: number;
  /** Latency added to every WeChat call (a '*' fault rule). */
  latencyMs?: number;
  faults?: FaultConfigInput;
  /** Our /wx URL and the account's Token / EncodingAESKey, for `push`. */
  callbackUrl?: string;
  token?: string;
  encodingAesKey?: string;
  push?: Omit<PushConfigInput, 'callbackUrl' | 'token' | 'encodingAesKey'>;
}

export interface FakeWeChatParts {
  app: Hono;
  state: FakeState;
  calls: CallCounter;
  faults: Faults;
  push: Pusher;
  /** Another system on the same appid fetching tokens on a timer (`wx.other.set('classic', 1)`). */
  other: OtherSystem;
}

export interface FakeWeChat extends FakeWeChatParts {
  /** http://host:port, the base URL to give the client instead of https://api.weixin.qq.com. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * The Hono app for a state: WeChat's routes at their real paths and the admin routes under
 * /__fake. Use `app.request(...)` in-process, or `startFakeWeChat` for real HTTP.
 */
export function createFakeWeChatApp(
  state: FakeState,
  parts: { calls?: CallCounter; faults?: Faults; push?: Pusher; other?: OtherSystem } = {},
): Hono {
  const calls = parts.calls ?? new CallCounter();
  const faults =
    parts.faults ??
    new Faults(hash32(seedOf(state.options.seed), 1), state.options.now, () => state.tokens.expireAll());
  const app = new Hono();
  app.route('/', createWeChatRoutes({ state, calls, faults }));
  const other =
    parts.other ??
    new OtherSystem(
      (path, init) => app.request(path, init),
      () => state.options,
    );
  app.route('/__fake', createAdminRoutes({ state, calls, faults, push: parts.push, other }));
  app.notFound((c) =>
    c.req.path.startsWith('/__fake')
      ? c.json({ error: 'not found' }, 404)
      : c.json(wechatError(-1, 'invalid url'), 404),
  );
  app.onError((error, c) => {
    if (error instanceof WxsyncError)
      return c.json({ error: error.code, message: error.message }, error.status as 400);
    if (error instanceof HTTPException) return error.getResponse();
    console.error('fake-wechat: unexpected error', error);
    return c.json({ error: 'internal' }, 500);
  });
  return app;
}

/** Builds state, counter, faults, pusher and app without listening (in-process tests). */
export function createFakeWeChat(options: FakeWeChatOptions = {}): FakeWeChatParts {
  const {
    host: _host,
    port: _port,
    latencyMs,
    faults: faultConfig,
    callbackUrl,
    token,
    encodingAesKey,
    push: pushConfig,
    ...data
  } = options;
  const state = new FakeState({ ...DEFAULT_DATA_OPTIONS, ...definedOnly(data) });
  const calls = new CallCounter();
  const faults = new Faults(
    hash32(seedOf(state.options.seed), 1),
    state.options.now,
    () => state.tokens.expireAll(),
    faultConfig,
  );
  if (latencyMs) faults.update('*', { latencyMs });
  const push = new Pusher(state, { ...pushConfig, callbackUrl, token, encodingAesKey });
  // In-process: the neighbour's requests go through the same routes as everybody's.
  let app: Hono | undefined;
  const other = new OtherSystem(
    (path, init) => app!.request(path, init),
    () => state.options,
  );
  app = createFakeWeChatApp(state, { calls, faults, push, other });
  return { app, state, calls, faults, push, other };
}

/** Starts the fake platform on `host:port` (default 127.0.0.1, random port). */
export async function startFakeWeChat(options: FakeWeChatOptions = {}): Promise<FakeWeChat> {
  const parts = createFakeWeChat(options);
  const host = options.host ?? '127.0.0.1';
  const { server, port } = await new Promise<{ server: ReturnType<typeof serve>; port: number }>(
    (resolve, reject) => {
      const server = serve(
        { fetch: parts.app.fetch, hostname: host, port: options.port ?? 0 },
        (info: AddressInfo) => resolve({ server, port: info.port }),
      );
      server.once('error', reject);
    },
  );
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    ...parts,
    url: `http://${urlHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        parts.other.stop();
        // Keep-alive sockets would hold close() open: end them too.
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
