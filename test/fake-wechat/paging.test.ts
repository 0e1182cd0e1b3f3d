/** Full pagination over 25,001 followers (both last-page behaviours) and mutations seen through the endpoints. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeWeChat, startFakeWeChat } from '../../src/fake-wechat/index.ts';
import { BatchGetResponse, OpenidPage, UserInfo } from '../../src/wechat/schemas.ts';
import { admin, CREDS, fetchToken, getJson, postJson } from '../support/fake-wechat.ts';

async function paginate(
  wx: FakeWeChat,
  token: string,
): Promise<{ openids: string[]; calls: number; last: OpenidPage }> {
  const openids: string[] = [];
  let next = '';
  let calls = 0;
  for (;;) {
    const page = OpenidPage.parse(
      await getJson(wx, '/cgi-bin/user/get', { access_token: token, next_openid: next }),
    );
    calls++;
    if (page.count === 0) return { openids, calls, last: page };
    expect(page.count).toBeLessThanOrEqual(10_000);
    expect(page.data!.openid).toHaveLength(page.count);
    openids.push(...page.data!.openid);
    next = page.next_openid;
  }
}

describe.each(['empty', 'repeat'] as const)(
  'user/get over 25,001 followers, last page next_openid %s',
  (mode) => {
    let wx: FakeWeChat;
    let token: string;
    beforeAll(async () => {
      wx = await startFakeWeChat({ ...CREDS, followers: 25_001, seed: 42, lastPageNextOpenid: mode });
      token = await fetchToken(wx);
    });
    afterAll(async () => wx.close());

    it('returns every follower exactly once, in the state order', async () => {
      const { openids, calls, last } = await paginate(wx, token);
      expect(openids).toHaveLength(25_001);
      expect(new Set(openids).size).toBe(25_001);
      expect(openids).toEqual(wx.state.followerOpenids());
      expect(calls).toBe(4);
      expect(last.total).toBe(25_001);
      expect(last.next_openid).toBe(mode === 'empty' ? '' : openids.at(-1));
      expect(wx.calls.count('user/get')).toBe(4);
    });

    it('never lists ex-followers', async () => {
      const ex = new Set(wx.state.exFollowerOpenids());
      expect(ex.size).toBe(2500);
      const { openids } = await paginate(wx, token);
      expect(openids.some((o) => ex.has(o))).toBe(false);
    });
  },
);

describe('the end of user/get, by default as the real platform does it', () => {
  it('a short last page carries its last openid as next_openid; the next call is {total, count: 0, next_openid: ""} without data', async () => {
    const wx = await startFakeWeChat({ ...CREDS, followers: 25_001, seed: 43 });
    try {
      const token = await fetchToken(wx);
      const page = (next: string) =>
        getJson(wx, '/cgi-bin/user/get', {
          access_token: token,
          ...(next ? { next_openid: next } : {}),
        }) as Promise<
          Record<string, unknown> & {
            next_openid: string;
            count: number;
            total: number;
            data?: { openid: string[] };
          }
        >;
      const first = await page('');
      expect(first.total).toBe(25_001);
      const second = await page(first.next_openid);
      // Later totals move a little while paging (WeChat's do), never by much.
      expect(Math.abs(second.total - 25_001)).toBeLessThanOrEqual(2);
      const short = await page(second.next_openid);
      expect(short.count).toBe(5_001);
      expect(short.next_openid).toBe(short.data!.openid.at(-1));
      const end = await page(short.next_openid);
      expect(end).toEqual({ total: 25_001, count: 0, next_openid: '' });
      expect('data' in end).toBe(false);
    } finally {
      await wx.close();
    }
  });
});

describe('mutations are visible through the endpoints', () => {
  let wx: FakeWeChat;
  let token: string;
  beforeAll(async () => {
    wx = await startFakeWeChat({ ...CREDS, followers: 300, seed: 'mutations', profiles: 'legacy' });
    token = await fetchToken(wx);
  });
  afterAll(async () => wx.close());
  const info = async (openid: string) =>
    UserInfo.parse(await getJson(wx, '/cgi-bin/user/info', { access_token: token, openid }));

  it('addFollowers appends new followers at the end of user/get', async () => {
    const added = wx.state.addFollowers(3);
    expect(added).toHaveLength(3);
    const overHttp = (await admin(wx, 'POST', '/followers', { n: 2 })).body as { openids: string[] };
    const { openids } = await paginate(wx, token);
    expect(openids).toHaveLength(305);
    expect(openids.slice(-5)).toEqual([...added, ...overHttp.openids]);
    const fresh = await info(added[0]!);
    expect(fresh.subscribe).toBe(1);
    expect(Math.abs(fresh.subscribe_time! - Date.now() / 1000)).toBeLessThan(600);
  });

  it('unsubscribe removes from user/get and batchget answers subscribe 0; resubscribe brings back', async () => {
    const target = wx.state.followerOpenids()[10]!;
    expect(wx.state.unsubscribe(target)).toBe(true);
    expect((await paginate(wx, token)).openids).not.toContain(target);
    const batch = BatchGetResponse.parse(
      await postJson(
        wx,
        '/cgi-bin/user/info/batchget',
        { user_list: [{ openid: target }] },
        { access_token: token },
      ),
    );
    expect(batch.user_info_list[0]!.subscribe).toBe(0);
    expect((await admin(wx, 'POST', `/followers/${target}/resubscribe`)).body).toEqual({ changed: true });
    expect((await paginate(wx, token)).openids).toContain(target);
    expect((await info(target)).subscribe).toBe(1);
    expect((await admin(wx, 'POST', `/followers/${target}/unsubscribe`)).body).toEqual({ changed: true });
    expect((await admin(wx, 'GET', '/followers')).body).toEqual({ openids: wx.state.followerOpenids() });
    expect(wx.state.followerOpenids()).not.toContain(target);
  });

  it('editProfile changes what user/info and batchget answer; the admin snapshot agrees', async () => {
    const target = wx.state.followerOpenids()[20]!;
    wx.state.editProfile(target, { nickname: '改名了😀', tagid_list: [2, 105] });
    await admin(wx, 'PATCH', `/profile/${target}`, { remark: 'vip' });
    const after = await info(target);
    expect(after).toMatchObject({
      nickname: '改名了😀',
      tagid_list: [2, 105],
      remark: 'vip',
      openid: target,
    });
    expect((await admin(wx, 'GET', `/profile/${target}`)).body).toEqual(after);
    expect(wx.state.profile(target)).toEqual(after);
  });

  it('a follower who left while a pagination runs does not break next_openid', async () => {
    const first = OpenidPage.parse(await getJson(wx, '/cgi-bin/user/get', { access_token: token }));
    expect(first.count).toBe(wx.state.followerCount());
    wx.state.unsubscribe(first.next_openid);
    const after = OpenidPage.parse(
      await getJson(wx, '/cgi-bin/user/get', { access_token: token, next_openid: first.next_openid }),
    );
    expect(after.count).toBe(0);
  });

  it('admin routes reject unknown openids with 400', async () => {
    const res = await admin(wx, 'POST', '/followers/o6_bmjrPTlm6_2sgVt7hMZOPfL2M/unsubscribe');
    expect(res.status).toBe(400);
    expect((await admin(wx, 'POST', '/blacklist', { openids: ['nope'] })).status).toBe(400);
  });

  it('blacklist over the admin route shows in getblacklist', async () => {
    const [a, b] = wx.state.followerOpenids().slice(50, 52);
    await admin(wx, 'POST', '/blacklist', { openids: [a, b] });
    const page = OpenidPage.parse(
      await postJson(wx, '/cgi-bin/tags/members/getblacklist', {}, { access_token: token }),
    );
    expect(page.data!.openid).toEqual(expect.arrayContaining([a, b]));
    await admin(wx, 'DELETE', '/blacklist', { openids: [a] });
    expect(((await admin(wx, 'GET', '/blacklist')).body as { openids: string[] }).openids).not.toContain(a);
  });
});
