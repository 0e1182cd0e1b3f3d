/** Paging over a realistic account: 25,001 followers, blacklists of either page size, and faults. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeWeChat, startFakeWeChat } from '../../src/fake-wechat/index.ts';
import { iterateBlacklistPages } from '../../src/wechat/blacklist.ts';
import { batchGetUserInfo, iterateFollowerPages } from '../../src/wechat/users.ts';
import { ClientPool, captureLog, collect } from '../support/wechat-clients.ts';

let wx: FakeWeChat;
let pool: ClientPool;

beforeAll(async () => {
  wx = await startFakeWeChat({ seed: 11, followers: 25_001, blacklist: 2_500 });
  pool = new ClientPool();
});
afterAll(async () => {
  await pool.close();
  await wx.close();
});

describe('user/get pagination', () => {
  it('yields every one of 25,001 followers exactly once, in 10,000-openid pages', async () => {
    const client = pool.client(wx.url, captureLog().log);
    const before = wx.calls.count('user/get');
    const pages = await collect(iterateFollowerPages(client));
    expect(pages.map((p) => p.openids.length)).toEqual([10_000, 10_000, 5_001]);
    const all = pages.flatMap((p) => p.openids);
    expect(new Set(all).size).toBe(25_001);
    expect(all).toEqual(wx.state.followerOpenids());
    // The first page's total is exact; later ones may stray a little, as WeChat's do while you page.
    expect(pages[0]!.total).toBe(25_001);
    expect(pages.every((p) => Math.abs(p.total - 25_001) <= 2)).toBe(true);
    expect(wx.calls.count('user/get') - before).toBe(4); // three pages, then the empty one
  });

  it('resumes from startOpenid', async () => {
    const client = pool.client(wx.url, captureLog().log);
    const [first] = await collect(iterateFollowerPages(client)).then((p) => p.slice(0, 1));
    const rest = await collect(iterateFollowerPages(client, { startOpenid: first!.nextOpenid }));
    expect(rest.flatMap((p) => p.openids)).toEqual(wx.state.followerOpenids().slice(10_000));
  });

  it('with 10% errcode -1 and 5% HTTP 502 on every endpoint, a full paginate + batchget still returns everything', async () => {
    const client = pool.client(wx.url, captureLog().log, {
      keyPrefix: `${pool.prefix}-faults`,
      maxAttempts: 10,
    });
    wx.faults.set('*', { errcode: -1, errorRate: 0.1, http502Rate: 0.05 });
    const callsBefore = wx.calls.snapshot();
    try {
      const openids: string[] = [];
      for await (const page of iterateFollowerPages(client)) openids.push(...page.openids);
      const infos = await batchGetUserInfo(client, openids);
      expect(openids).toEqual(wx.state.followerOpenids());
      expect(infos.map((u) => u.openid)).toEqual(openids);
      expect(infos.every((u) => u.subscribe === 1)).toBe(true);
      expect(infos[12_345]).toEqual(wx.state.profile(openids[12_345]!));
    } finally {
      wx.faults.clear();
    }
    const after = wx.calls.snapshot();
    const batchCalls =
      (after.counts['user/info/batchget'] ?? 0) - (callsBefore.counts['user/info/batchget'] ?? 0);
    // 251 chunks of <= 100; the faults forced retries on top.
    expect(batchCalls).toBeGreaterThan(251);
    expect(wx.calls.maxBatch('user/info/batchget')).toBeLessThanOrEqual(100);
  });
});

describe('getblacklist pagination', () => {
  it('follows the server page size: 1,000 (current doc)', async () => {
    const client = pool.client(wx.url, captureLog().log);
    const pages = await collect(iterateBlacklistPages(client));
    expect(pages.map((p) => p.openids.length)).toEqual([1_000, 1_000, 500]);
    expect(pages.flatMap((p) => p.openids)).toEqual(wx.state.blacklistOpenids());
  });

  it('follows the server page size: 10,000 (older docs), and stops when the last page repeats its cursor', async () => {
    const old = await startFakeWeChat({
      seed: 12,
      followers: 12_000,
      blacklist: 10_500,
      blacklistPageSize: 10_000,
      lastPageNextOpenid: 'repeat',
    });
    try {
      const client = pool.client(old.url, captureLog().log, { keyPrefix: `${pool.prefix}-old` });
      const pages = await collect(iterateBlacklistPages(client));
      expect(pages.map((p) => p.openids.length)).toEqual([10_000, 500]);
      expect(pages.flatMap((p) => p.openids)).toEqual(old.state.blacklistOpenids());
      expect(old.calls.count('getblacklist')).toBe(3);
      const followers = await collect(iterateFollowerPages(client));
      expect(followers.flatMap((p) => p.openids)).toEqual(old.state.followerOpenids());
    } finally {
      await old.close();
    }
  });
});
