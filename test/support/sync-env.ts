/**
 * One sync test environment per test file: a fresh migrated database, the fake platform over real
 * HTTP, a random Redis prefix (cleaned up), a WeChat client pointed at the fake and the deps the
 * jobs take. Logs are captured so tests can assert warnings.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { SyncDeps } from '../../jobs/types.ts';
import { type FakeWeChat, type FakeWeChatOptions, startFakeWeChat } from '../../src/fake-wechat/index.ts';
import type { Log } from '../../src/logger.ts';
import { WeChatClient, type WeChatClientOptions } from '../../src/wechat/client.ts';
import type { UserInfo } from '../../src/wechat/schemas.ts';
import { freshDatabase, type TestDatabase } from './db.ts';
import { TEST_REDIS_URL, TEST_WECHAT } from './env.ts';

export interface SyncTestEnv {
  t: TestDatabase;
  fake: FakeWeChat;
  redis: Redis;
  prefix: string;
  log: Log;
  /** Log lines (parsed JSON) written so far. */
  logs: Record<string, unknown>[];
  wechat: WeChatClient;
  deps: SyncDeps;
  /** Environment for a child process running the real CLI against this setup. */
  childEnv(extra?: Record<string, string>): NodeJS.ProcessEnv;
  close(): Promise<void>;
}

export async function syncTestEnv(
  fakeOptions: FakeWeChatOptions,
  depsOverrides: Partial<SyncDeps> = {},
  clientOverrides: Partial<WeChatClientOptions> = {},
): Promise<SyncTestEnv> {
  const t = await freshDatabase();
  const fake = await startFakeWeChat({
    appId: TEST_WECHAT.WECHAT_APP_ID,
    appSecret: TEST_WECHAT.WECHAT_APP_SECRET,
    ...fakeOptions,
  });
  const prefix = `wxt${randomBytes(4).toString('hex')}`;
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 3 });
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line));
      done();
    },
  });
  const log = pino({ level: 'info' }, sink);
  const wechat = new WeChatClient({
    appId: TEST_WECHAT.WECHAT_APP_ID,
    appSecret: TEST_WECHAT.WECHAT_APP_SECRET,
    apiBase: fake.url,
    redis,
    log,
    keyPrefix: prefix,
    maxAttempts: 10,
    backoffBaseMs: 5,
    backoffMaxMs: 40,
    ...clientOverrides,
  });
  const deps: SyncDeps = {
    db: t.db,
    redis,
    log,
    wechat,
    config: {
      QUEUE_PREFIX: prefix,
      SYNC_BATCH_CONCURRENCY: 4,
      SYNC_LOCK_TTL_S: 2,
      WECHAT_QUOTA_HEADROOM: 0.1,
    },
    ...depsOverrides,
  };
  return {
    t,
    fake,
    redis,
    prefix,
    log,
    logs,
    wechat,
    deps,
    childEnv: (extra = {}) => ({
      ...process.env,
      ...TEST_WECHAT,
      DATABASE_URL: t.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      WECHAT_API_BASE: fake.url,
      LOG_LEVEL: 'silent',
      SYNC_LOCK_TTL_S: '2',
      SYNC_BATCH_CONCURRENCY: '2',
      SCHEDULER_ENABLED: 'false',
      ...extra,
    }),
    async close() {
      wechat.close();
      await fake.close();
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
      await t.drop();
    },
  };
}

type FollowerRow = Awaited<ReturnType<TestDatabase['db']['follower']['findFirstOrThrow']>>;

/** A stored follower as user/info would answer for them (to compare with the fake byte for byte). */
export function asUserInfo(row: FollowerRow): UserInfo {
  if (!row.subscribe)
    return { subscribe: 0, openid: row.openid, ...(row.unionid ? { unionid: row.unionid } : {}) };
  const info: UserInfo = {
    subscribe: 1,
    openid: row.openid,
    nickname: row.nickname ?? undefined,
    sex: row.sex ?? undefined,
    language: row.language ?? undefined,
    city: row.city ?? undefined,
    province: row.province ?? undefined,
    country: row.country ?? undefined,
    headimgurl: row.headimgurl ?? undefined,
    subscribe_time: row.subscribeTime ? row.subscribeTime.getTime() / 1000 : undefined,
    unionid: row.unionid ?? undefined,
    remark: row.remark ?? undefined,
    groupid: row.groupid ?? undefined,
    tagid_list: row.tagidList,
    subscribe_scene: row.subscribeScene ?? undefined,
    qr_scene: row.qrScene === null ? undefined : Number(row.qrScene),
    qr_scene_str: row.qrSceneStr ?? undefined,
  };
  return info;
}

/** JSON with sorted keys and no undefined members: equal strings = equal answers, byte for byte. */
export function canonicalJson(value: object): string {
  const entries = Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify(Object.fromEntries(entries));
}

/** Asserts-friendly snapshot of the mirror: subscribed openids, unsubscribed openids, blacklist. */
export async function mirrorOf(db: TestDatabase['db']) {
  const rows = await db.$queryRaw<{ openid: string; subscribe: boolean; unsub: boolean }[]>`
    SELECT openid, subscribe, unsubscribed_at IS NOT NULL AS unsub FROM followers`;
  const blacklist = await db.$queryRaw<{ openid: string }[]>`SELECT openid FROM blacklist_current`;
  return {
    subscribed: rows
      .filter((r) => r.subscribe)
      .map((r) => r.openid)
      .sort(),
    unsubscribed: rows
      .filter((r) => !r.subscribe)
      .map((r) => r.openid)
      .sort(),
    /** Rows whose flag and unsubscribed_at disagree (must stay empty). */
    inconsistent: rows.filter((r) => r.subscribe === r.unsub).map((r) => r.openid),
    blacklist: blacklist.map((r) => r.openid).sort(),
  };
}

export const sorted = (xs: string[]) => [...xs].sort();
