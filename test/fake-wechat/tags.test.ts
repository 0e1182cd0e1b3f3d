/**
 * tags/get on the fake platform, through the real client (getTags): counts always equal the current
 * followers' tagid_list; tags created, renamed and deleted through the admin routes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeWeChat, startFakeWeChat } from '../../src/fake-wechat/index.ts';
import type { WeChatClient } from '../../src/wechat/client.ts';
import { getTags } from '../../src/wechat/tags.ts';
import { CREDS } from '../support/fake-wechat.ts';
import { ClientPool, captureLog } from '../support/wechat-clients.ts';

let wx: FakeWeChat;
let client: WeChatClient;
const pool = new ClientPool();

beforeAll(async () => {
  wx = await startFakeWeChat({ ...CREDS, followers: 3_000, seed: 'tags' });
  client = pool.client(wx.url, captureLog().log);
});
afterAll(async () => {
  await pool.close();
  await wx.close();
});

/** Followers per tag id counted from every follower's user/info answer. */
function countedFromProfiles(): Map<number, number> {
  const counts = new Map<number, number>();
  for (const openid of wx.state.followerOpenids()) {
    for (const id of wx.state.profile(openid).tagid_list ?? []) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}
const admin = (path: string, init: RequestInit = {}) =>
  fetch(`${wx.url}/__fake${path}`, { headers: { 'content-type': 'application/json' }, ...init });

describe('tags/get', () => {
  it("lists WeChat's 星标组 and the account's tags with counts equal to the followers' tagid_list", async () => {
    const tags = await getTags(client);
    expect(tags[0]).toMatchObject({ id: 2, name: '星标组' });
    expect(tags.map((t) => t.id)).toEqual([2, 100, 101, 102, 103, 104, 105, 106, 107, 108]);
    const counted = countedFromProfiles();
    for (const t of tags) expect(t.count).toBe(counted.get(t.id) ?? 0);
    expect(tags.reduce((n, t) => n + t.count, 0)).toBeGreaterThan(1_000);
  });

  it('follows the state: an unfollow, a tag edit, a new tag, a rename, a deletion', async () => {
    const [a = '', b = ''] = wx.state.followerOpenids();
    wx.state.editProfile(a, { tagid_list: [2, 105] });
    wx.state.unsubscribe(b);
    const created = (await (
      await admin('/tags', { method: 'POST', body: '{"name":"春季活动"}' })
    ).json()) as {
      id: number;
    };
    expect(created.id).toBe(109);
    wx.state.editProfile(a, { tagid_list: [2, 105, 109] });
    expect((await admin('/tags/104', { method: 'PATCH', body: '{"name":"黄金会员"}' })).status).toBe(200);
    expect((await admin('/tags/106', { method: 'DELETE' })).status).toBe(200);

    const tags = await getTags(client);
    expect(tags.find((t) => t.id === 104)?.name).toBe('黄金会员');
    expect(tags.find((t) => t.id === 106)).toBeUndefined();
    expect(tags.find((t) => t.id === 109)).toEqual({ id: 109, name: '春季活动', count: 1 });
    const counted = countedFromProfiles();
    expect(counted.has(106)).toBe(false); // a deleted tag leaves every tagid_list
    for (const t of tags) expect(t.count).toBe(counted.get(t.id) ?? 0);
  });

  it('refuses bad tag names and ids with 400', async () => {
    expect((await admin('/tags', { method: 'POST', body: '{"name":"星标组"}' })).status).toBe(400);
    expect((await admin('/tags', { method: 'POST', body: `{"name":"${'长'.repeat(31)}"}` })).status).toBe(
      400,
    );
    expect((await admin('/tags/abc', { method: 'DELETE' })).status).toBe(400);
    expect((await admin('/tags/999', { method: 'PATCH', body: '{"name":"x"}' })).status).toBe(400);
  });
});
