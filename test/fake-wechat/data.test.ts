/** Generated data: deterministic per seed, realistic in shape, consistent statistics, scales to 1M. */
import { describe, expect, it } from 'vitest';
import { dateOfDay } from '../../src/calendar.ts';
import { FakeState } from '../../src/fake-wechat/index.ts';
import { Permutation32 } from '../../src/fake-wechat/prng.ts';
import { UserInfo } from '../../src/wechat/schemas.ts';

const OPENID = /^[A-Za-z0-9_-]{28}$/;

describe('determinism', () => {
  it('same seed, same followers, profiles and series; another seed, other data', () => {
    const a = new FakeState({ seed: 'same', followers: 2000 });
    const b = new FakeState({ seed: 'same', followers: 2000 });
    const c = new FakeState({ seed: 'other', followers: 2000 });
    expect(a.followerOpenids()).toEqual(b.followerOpenids());
    expect(a.exFollowerOpenids()).toEqual(b.exFollowerOpenids());
    expect(a.blacklistOpenids()).toEqual(b.blacklistOpenids());
    for (const openid of a.followerOpenids().slice(0, 200))
      expect(a.profile(openid)).toEqual(b.profile(openid));
    expect([...a.stats.summary.values()]).toEqual([...b.stats.summary.values()]);
    expect(a.stats.settlements).toEqual(b.stats.settlements);
    expect(a.originalId).toBe(b.originalId);
    expect(c.followerOpenids()[0]).not.toBe(a.followerOpenids()[0]);
    expect(c.indexOf(a.followerOpenids()[0]!)).toBeUndefined();
  });
});

describe('openids', () => {
  const state = new FakeState({ seed: 3, followers: 100_000 });
  it('are 28 characters of [A-Za-z0-9_-], unique, and map back to their follower', () => {
    const openids = state.followerOpenids();
    expect(openids).toHaveLength(100_000);
    expect(openids.every((o) => OPENID.test(o))).toBe(true);
    expect(new Set(openids).size).toBe(100_000);
    for (const openid of openids.slice(0, 1000))
      expect(state.people.openid(state.indexOf(openid)!)).toBe(openid);
  });
  it('rejects altered or foreign openids', () => {
    const openid = state.followerOpenids()[123]!;
    const altered = `${openid.slice(0, 20)}${openid[20] === 'A' ? 'B' : 'A'}${openid.slice(21)}`;
    expect(state.indexOf(altered)).toBeUndefined();
    expect(state.indexOf('o6_bmjrPTlm6_2sgVt7hMZOPfL2M')).toBeUndefined();
    expect(state.indexOf('')).toBeUndefined();
    expect(state.indexOf(`${openid}x`)).toBeUndefined();
  });
  it('the index permutation is a bijection', () => {
    const perm = new Permutation32(0xdeadbeef);
    for (const x of [0, 1, 2, 999_999, 2 ** 31, 2 ** 32 - 1]) expect(perm.inverse(perm.forward(x))).toBe(x);
  });
});

describe('profiles', () => {
  const state = new FakeState({ seed: 'profiles', followers: 5000, unionidShare: 0.3, profiles: 'legacy' });
  const profiles = state.followerOpenids().map((o) => UserInfo.parse(state.profile(o)));

  it('by default answer as WeChat has since 2021-12-27: the keys kept, with empty defaults', () => {
    const modern = new FakeState({ seed: 'profiles', followers: 50 });
    expect(modern.profiles).toBe('modern');
    for (const openid of modern.followerOpenids()) {
      const p = UserInfo.parse(modern.profile(openid));
      expect(p).toMatchObject({ nickname: '', headimgurl: '', sex: 0, city: '', province: '', country: '' });
      // Still sent: subscription, language, scene, tags, remark.
      expect(p.subscribe).toBe(1);
      expect(p.subscribe_time).toBeGreaterThan(0);
      expect(p.language).toBeTruthy();
      expect(p.subscribe_scene).toMatch(/^ADD_SCENE_/);
      expect(Array.isArray(p.tagid_list)).toBe(true);
      expect(typeof p.remark).toBe('string');
    }
    // Switching at run time: legacy shows the rich profile, modern blanks it again.
    const openid = modern.followerOpenids().find((o) => {
      modern.setProfiles('legacy');
      const rich = modern.profile(o).nickname !== '';
      modern.setProfiles('modern');
      return rich;
    })!;
    modern.setProfiles('legacy');
    expect(modern.profile(openid).nickname).not.toBe('');
    modern.setProfiles('modern');
    expect(modern.profile(openid).nickname).toBe('');
  });

  it('legacy: look like post-2021 WeChat answers: Chinese names, emoji, some empty, places mostly empty', () => {
    const share = (f: (p: UserInfo) => boolean) => profiles.filter(f).length / profiles.length;
    expect(share((p) => p.nickname === '')).toBeGreaterThan(0.15);
    expect(share((p) => /\p{Script=Han}/u.test(p.nickname ?? ''))).toBeGreaterThan(0.3);
    expect(share((p) => /\p{Extended_Pictographic}/u.test(p.nickname ?? ''))).toBeGreaterThan(0.1);
    expect(share((p) => p.city === '')).toBeGreaterThan(0.8);
    expect(share((p) => p.sex === 0)).toBeGreaterThan(0.7);
    expect(share((p) => (p.tagid_list ?? []).length > 0)).toBeGreaterThan(0.2);
    const unionShare = share((p) => p.unionid !== undefined);
    expect(unionShare).toBeGreaterThan(0.25);
    expect(unionShare).toBeLessThan(0.35);
  });
  it('have varied scenes, QR scenes, and subscribe times over years in list order', () => {
    const scenes = new Set(profiles.map((p) => p.subscribe_scene));
    expect(scenes.size).toBeGreaterThan(8);
    const qr = profiles.filter((p) => p.subscribe_scene === 'ADD_SCENE_QR_CODE');
    expect(qr.length).toBeGreaterThan(0);
    expect(qr.every((p) => (p.qr_scene ?? 0) > 0)).toBe(true);
    expect(
      profiles.filter((p) => p.subscribe_scene !== 'ADD_SCENE_QR_CODE').every((p) => p.qr_scene === 0),
    ).toBe(true);
    const times = profiles.map((p) => p.subscribe_time!);
    expect(times.at(-1)! - times[0]!).toBeGreaterThan(5 * 365 * 86_400);
  });
});

describe('statistics', () => {
  const state = new FakeState({
    seed: 'stats',
    followers: 20_000,
    statsDays: 90,
    now: () => Date.UTC(2026, 5, 15, 12),
  });
  it('series cover statsDays ending yesterday (Beijing) and cumulate follows the summary', () => {
    expect(state.stats.cumulate.size).toBe(90);
    expect(dateOfDay(state.stats.lastDay)).toBe('2026-06-14');
    expect(state.stats.cumulate.get(state.stats.lastDay)!.cumulate_user).toBe(20_000);
    for (let day = state.stats.firstDay + 1; day <= state.stats.lastDay; day++) {
      const net = state.stats.summary.get(day)!.reduce((s, r) => s + r.new_user - r.cancel_user, 0);
      expect(state.stats.cumulate.get(day)!.cumulate_user).toBe(
        state.stats.cumulate.get(day - 1)!.cumulate_user + net,
      );
    }
  });
  it('yesterday in Beijing turns over at 16:00 UTC', () => {
    const before = new FakeState({ followers: 1, now: () => Date.UTC(2026, 5, 15, 15, 59) });
    const after = new FakeState({ followers: 1, now: () => Date.UTC(2026, 5, 15, 16, 1) });
    expect(dateOfDay(before.stats.lastDay)).toBe('2026-06-14');
    expect(dateOfDay(after.stats.lastDay)).toBe('2026-06-15');
  });
  it('settlements are half-monthly, paid before yesterday, with slot sums', () => {
    expect(state.stats.settlements.length).toBeGreaterThanOrEqual(5);
    for (const s of state.stats.settlements) {
      expect(s.date <= '2026-06-14').toBe(true);
      expect(s.zone).toMatch(/^\d{4}年\d{1,2}月(1日至15日|16日至\d{2}日)$/);
    }
  });
});

describe('scale', () => {
  it('a million followers: lazily generated, first and last page reachable, mutations kept', () => {
    const state = new FakeState({ seed: 'big', followers: 1_000_000 });
    expect(state.followerCount()).toBe(1_000_000);
    const first = state.followerPage('', 10_000);
    expect(first.openids).toHaveLength(10_000);
    const lastOpenid = state.followerOpenids().at(-1)!;
    expect(state.profile(lastOpenid).subscribe).toBe(1);
    const [added] = state.addFollowers(1);
    expect(state.followerPage(lastOpenid, 10_000).openids).toEqual([added]);
  });
});
