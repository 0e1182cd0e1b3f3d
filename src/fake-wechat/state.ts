/**
 * The fake platform's mutable state. Followers are indices into a deterministic population
 * (people.ts); only the ordered list of current followers, the blacklist and per-follower
 * mutations are stored, so a million followers start in well under a second.
 */
import type { z } from 'zod';
import { InputError } from '../errors.ts';
import { UserInfo } from '../wechat/schemas.ts';
import { FakeClock } from './clock.ts';
import { People, TAG_NAMES } from './people.ts';
import { hash32, seedOf } from './prng.ts';
import { type QuotaLimits, Quotas } from './quotas.ts';
import { generateStats, type Stats } from './stats.ts';
import { TokenStore } from './tokens.ts';

/** What editProfile may change: any user/info field except the identity and subscription ones. */
export const ProfilePatch = UserInfo.omit({ openid: true, subscribe: true }).partial();
export type ProfilePatch = z.infer<typeof ProfilePatch>;

export interface FakeDataOptions {
  appId: string;
  appSecret: string;
  /** Same seed, same followers, profiles and series. */
  seed: string | number;
  /** Current followers at start. */
  followers: number;
  /** Ex-followers (in the population, not in user/get, batchget says subscribe 0) as a share of `followers`. */
  unsubscribedShare: number;
  unionidShare: number;
  /** Blacklisted followers at start. */
  blacklist: number;
  /** Length of the datacube/publisher daily series, ending yesterday (Beijing time). */
  statsDays: number;
  blacklistPageSize: number;
  userGetPageSize: number;
  tokenTtlS: number;
  tokenOverlapS: number;
  /**
   * next_openid of the final, empty user/get or getblacklist page: 'empty' (current official doc)
   * or 'repeat' (the openid asked for, as some docs show). Clients must stop on count 0 either way.
   */
  lastPageNextOpenid: 'empty' | 'repeat';
  /**
   * What user/info and batchget say about a follower. 'modern' (default): WeChat since 2021-12-27,
   * which keeps the keys but sends `nickname: ""`, `headimgurl: ""`, `sex: 0` and empty
   * city/province/country. 'legacy': the rich generated profiles of before.
   */
  profiles: ProfileMode;
  /**
   * How far the `total` of user/get pages after the first may stray from the true count (WeChat's
   * total moves while you page). 0 = always exact. The first page and the final empty page are exact.
   */
  userGetTotalDrift: number;
  /** Daily limits per cgi path over the defaults (quotas.ts DEFAULT_DAILY_LIMITS). */
  quotas: QuotaLimits;
  /** Clock in epoch ms (tests may drive it; `state.clock` moves it further). */
  now: () => number;
}

export type ProfileMode = 'modern' | 'legacy';

export const DEFAULT_DATA_OPTIONS: FakeDataOptions = {
  appId: 'wx0123456789abcdef',
  appSecret: 'testsecret0123456789abcdef012345',
  seed: 1,
  followers: 1000,
  unsubscribedShare: 0.1,
  unionidShare: 0.3,
  blacklist: 10,
  statsDays: 60,
  blacklistPageSize: 1000,
  userGetPageSize: 10_000,
  tokenTtlS: 7200,
  tokenOverlapS: 300,
  lastPageNextOpenid: 'empty',
  profiles: 'modern',
  userGetTotalDrift: 2,
  quotas: {},
  now: Date.now,
};

/** The keys WeChat still sends since 2021-12-27, with the empty defaults it sends in them. */
const MODERN_BLANKS = {
  nickname: '',
  headimgurl: '',
  sex: 0,
  city: '',
  province: '',
  country: '',
} as const satisfies Partial<UserInfo>;

/** Index of the first element of a sorted array greater than `value`. */
function upperBound(sorted: number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
function lowerBound(sorted: number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
function sortedHas(sorted: number[], value: number): boolean {
  const i = lowerBound(sorted, value);
  return sorted[i] === value;
}
function sortedInsert(sorted: number[], value: number): boolean {
  const i = lowerBound(sorted, value);
  if (sorted[i] === value) return false;
  sorted.splice(i, 0, value);
  return true;
}
function sortedRemove(sorted: number[], value: number): boolean {
  const i = lowerBound(sorted, value);
  if (sorted[i] !== value) return false;
  sorted.splice(i, 1);
  return true;
}

export interface OpenidPageResult {
  total: number;
  openids: string[];
}

export class FakeState {
  readonly options: FakeDataOptions;
  readonly people: People;
  readonly tokens: TokenStore;
  readonly quotas: Quotas;
  /** The platform's time: `options.now` plus whatever the tests or the admin API moved it by. */
  readonly clock: FakeClock;
  readonly stats: Stats;
  /** WeChat's original id of the account (gh_...), the ToUserName of pushed events. */
  readonly originalId: string;
  /** Milliseconds the data generation took at construction. */
  readonly generationMs: number;
  private readonly seed: number;
  /** Population size: every index below it is a follower or an ex-follower. */
  private population: number;
  private readonly initialPopulation: number;
  /** Current followers (population indices), ascending: the order user/get lists them in. */
  private readonly followers: number[] = [];
  /** Blacklisted population indices, ascending. */
  private readonly blacklisted: number[] = [];
  private readonly patches = new Map<number, ProfilePatch>();
  /** tags/get's tags by id. A follower's tagid_list only ever names tags in here. */
  private readonly tags = new Map<number, string>(
    Object.entries(TAG_NAMES).map(([id, name]) => [Number(id), name]),
  );
  /** Followers per tag id, computed by tagList; cleared by every mutation that can change it. */
  private tagCounts: Map<number, number> | undefined;
  private profileMode: ProfileMode;

  constructor(options: Partial<FakeDataOptions> = {}) {
    const started = performance.now();
    const given = { ...DEFAULT_DATA_OPTIONS, ...options };
    this.clock = new FakeClock(given.now);
    // Everything that reads options.now (tokens, faults, pushes, quotas) follows the fake clock.
    this.options = { ...given, now: () => this.clock.now() };
    const o = this.options;
    this.profileMode = o.profiles;
    if (!Number.isInteger(o.followers) || o.followers < 0)
      throw new InputError('followers must be a non-negative integer');
    this.seed = seedOf(o.seed);
    this.people = new People({ seed: this.seed, unionidShare: o.unionidShare });
    this.tokens = new TokenStore({ ttlS: o.tokenTtlS, overlapS: o.tokenOverlapS, now: o.now });
    this.quotas = new Quotas(o.now, o.quotas);
    this.originalId = `gh_${(hash32(this.seed, 0x91d).toString(16) + hash32(this.seed, 0x91e).toString(16)).slice(0, 12)}`;
    // Ex-followers are spread evenly through the population, so they interleave with followers.
    const ex = Math.round(o.followers * o.unsubscribedShare);
    this.population = o.followers + ex;
    this.initialPopulation = this.population;
    for (let i = 0; i < this.population; i++) {
      if (Math.floor(((i + 1) * ex) / this.population) === Math.floor((i * ex) / this.population))
        this.followers.push(i);
    }
    const black = Math.min(o.blacklist, o.followers);
    for (let k = 0; k < black; k++)
      this.blacklisted.push(this.followers[Math.floor((k * o.followers) / black)]!);
    this.stats = generateStats({
      seed: this.seed,
      days: o.statsDays,
      followers: o.followers,
      nowMs: o.now(),
    });
    this.generationMs = performance.now() - started;
  }

  // ---- lookups -------------------------------------------------------------------------------

  /** Population index of an openid of this account, or undefined (a foreign or made-up openid). */
  indexOf(openid: string): number | undefined {
    const index = this.people.indexOf(openid);
    return index !== undefined && index < this.population ? index : undefined;
  }

  isFollower(index: number): boolean {
    return sortedHas(this.followers, index);
  }

  isBlacklisted(index: number): boolean {
    return sortedHas(this.blacklisted, index);
  }

  followerCount(): number {
    return this.followers.length;
  }

  /** user/info's answer for a population index: the full profile, or `{subscribe: 0, openid[, unionid]}`. */
  userInfo(index: number): UserInfo {
    if (!this.isFollower(index)) {
      const unionid = this.people.unionid(index);
      return {
        subscribe: 0,
        openid: this.people.openid(index),
        ...(unionid === undefined ? {} : { unionid }),
      };
    }
    const base = this.people.profile(index, this.initialPopulation);
    const info: UserInfo = { subscribe: 1, ...base, ...this.patches.get(index), openid: base.openid };
    // A deleted tag leaves every user's tagid_list, as on WeChat.
    if (info.tagid_list?.some((id) => !this.tags.has(id)))
      info.tagid_list = info.tagid_list.filter((id) => this.tags.has(id));
    return this.profileMode === 'modern' ? { ...info, ...MODERN_BLANKS } : info;
  }

  /** The tags a population index carries now (patched or generated, deleted tags left out). */
  private tagsOf(index: number): number[] {
    return (this.patches.get(index)?.tagid_list ?? this.people.tagIds(index)).filter((id) =>
      this.tags.has(id),
    );
  }

  /**
   * tags/get's answer: every tag with the number of current followers carrying it, so the counts
   * match the followers' tagid_list exactly. Counted per call from the followers' generated tags
   * (their own cheap stream, see People.tagIds) and patches, kept until the followers or their
   * tags change (about a second for a million followers).
   */
  tagList(): { id: number; name: string; count: number }[] {
    let counts = this.tagCounts;
    if (counts === undefined) {
      counts = new Map<number, number>();
      for (const index of this.followers) {
        for (const id of this.tagsOf(index)) counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      this.tagCounts = counts;
    }
    return [...this.tags]
      .sort(([a], [b]) => a - b)
      .map(([id, name]) => ({ id, name, count: counts.get(id) ?? 0 }));
  }

  get profiles(): ProfileMode {
    return this.profileMode;
  }

  /** Switches what user/info and batchget answer from now on (tests: "WeChat stopped sending names"). */
  setProfiles(mode: ProfileMode): void {
    if (mode !== 'modern' && mode !== 'legacy') throw new InputError("profiles must be 'modern' or 'legacy'");
    this.profileMode = mode;
  }

  /** One page of current followers after `afterOpenid` ('' = from the start). */
  followerPage(afterOpenid: string, size: number): OpenidPageResult {
    const page = this.page(this.followers, afterOpenid, size);
    const drift = this.options.userGetTotalDrift;
    if (drift <= 0 || afterOpenid === '' || page.openids.length === 0) return page;
    // Deterministic per cursor, so a retried page answers the same total.
    const span = 2 * Math.floor(drift) + 1;
    const offset = (hash32(this.seed, this.indexOf(afterOpenid) ?? 0, 0x707a1) % span) - Math.floor(drift);
    return { ...page, total: Math.max(0, page.total + offset) };
  }

  blacklistPage(afterOpenid: string, size: number): OpenidPageResult {
    return this.page(this.blacklisted, afterOpenid, size);
  }

  private page(list: number[], afterOpenid: string, size: number): OpenidPageResult {
    let start = 0;
    if (afterOpenid) {
      const index = this.indexOf(afterOpenid);
      if (index === undefined) throw new InputError('next_openid is not an openid of this account');
      // upperBound also works when that openid has since left: continue after its position.
      start = upperBound(list, index);
    }
    const openids = list.slice(start, start + size).map((i) => this.people.openid(i));
    return { total: list.length, openids };
  }

  // ---- snapshots (tests compare a mirror with these) ------------------------------------------

  /** Every current follower's openid, in user/get order. */
  followerOpenids(): string[] {
    return this.followers.map((i) => this.people.openid(i));
  }

  /** Every ex-follower's openid (in the population but not following now). */
  exFollowerOpenids(): string[] {
    const out: string[] = [];
    for (let i = 0, f = 0; i < this.population; i++) {
      if (this.followers[f] === i) f++;
      else out.push(this.people.openid(i));
    }
    return out;
  }

  /** The profile of an openid exactly as user/info would answer it. */
  profile(openid: string): UserInfo {
    return this.userInfo(this.require(openid));
  }

  blacklistOpenids(): string[] {
    return this.blacklisted.map((i) => this.people.openid(i));
  }

  // ---- mutations -----------------------------------------------------------------------------

  /** New followers, appended to the end of the list (subscribe_time = now); returns their openids. */
  addFollowers(n: number): string[] {
    if (!Number.isInteger(n) || n < 0 || n > 1_000_000)
      throw new InputError('n must be an integer 0..1000000');
    const now = Math.floor(this.options.now() / 1000);
    this.tagCounts = undefined;
    const openids: string[] = [];
    for (let k = 0; k < n; k++) {
      const index = this.population++;
      this.followers.push(index);
      this.patches.set(index, { subscribe_time: now });
      openids.push(this.people.openid(index));
    }
    return openids;
  }

  /** The follower leaves: gone from user/get, batchget answers `{subscribe: 0, ...}`. Returns false if not following. */
  unsubscribe(openid: string): boolean {
    this.tagCounts = undefined;
    return sortedRemove(this.followers, this.require(openid));
  }

  /** An ex-follower comes back (subscribe_time = now). Returns false if already following. */
  resubscribe(openid: string): boolean {
    const index = this.require(openid);
    if (!sortedInsert(this.followers, index)) return false;
    this.tagCounts = undefined;
    this.patches.set(index, {
      ...this.patches.get(index),
      subscribe_time: Math.floor(this.options.now() / 1000),
    });
    return true;
  }

  editProfile(openid: string, patch: ProfilePatch): UserInfo {
    const index = this.require(openid);
    const parsed = ProfilePatch.parse(patch);
    // Tagging with an id tags/get does not know yet creates it (WeChat only tags with existing tags).
    for (const id of parsed.tagid_list ?? []) if (!this.tags.has(id)) this.tags.set(id, `标签${id}`);
    this.patches.set(index, { ...this.patches.get(index), ...parsed });
    this.tagCounts = undefined;
    return this.userInfo(index);
  }

  /** A new account tag (ids from 100, as WeChat numbers them); returns its id. */
  createTag(name: string): number {
    const clean = this.tagName(name);
    const id = Math.max(99, ...this.tags.keys()) + 1;
    this.tags.set(id, clean);
    return id;
  }

  renameTag(id: number, name: string): void {
    if (!this.tags.has(id)) throw new InputError(`no tag ${id}`);
    this.tags.set(id, this.tagName(name, id));
  }

  /** Deletes a tag: it leaves tags/get and every user's tagid_list. Returns false if there was none. */
  deleteTag(id: number): boolean {
    this.tagCounts = undefined;
    return this.tags.delete(id);
  }

  private tagName(name: string, self?: number): string {
    const clean = name.trim();
    // WeChat: 45158 name longer than 30 characters, 45157 a name already used.
    if (clean.length === 0 || [...clean].length > 30)
      throw new InputError('tag name must be 1..30 characters');
    for (const [id, existing] of this.tags) {
      if (existing === clean && id !== self) throw new InputError(`tag name already used by tag ${id}`);
    }
    return clean;
  }

  /** Blacklists openids of this account; returns how many were newly added. */
  blacklist(openids: string[]): number {
    const indices = openids.map((o) => this.require(o));
    return indices.filter((i) => sortedInsert(this.blacklisted, i)).length;
  }

  unblacklist(openids: string[]): number {
    const indices = openids.map((o) => this.require(o));
    return indices.filter((i) => sortedRemove(this.blacklisted, i)).length;
  }

  summary(): {
    followers: number;
    exFollowers: number;
    blacklist: number;
    population: number;
    tokensIssued: number;
    stableTokensIssued: number;
    forcedRefreshes: number;
    liveTokens: number;
    profiles: ProfileMode;
    clock: string;
    originalId: string;
    statsFrom: string;
    statsTo: string;
  } {
    return {
      followers: this.followers.length,
      exFollowers: this.population - this.followers.length,
      blacklist: this.blacklisted.length,
      population: this.population,
      tokensIssued: this.tokens.issuedCount,
      stableTokensIssued: this.tokens.stableIssuedCount,
      forcedRefreshes: this.tokens.forcedRefreshCount,
      liveTokens: this.tokens.liveCount(),
      profiles: this.profileMode,
      clock: new Date(this.clock.now()).toISOString(),
      originalId: this.originalId,
      statsFrom: new Date(this.stats.firstDay * 86_400_000).toISOString().slice(0, 10),
      statsTo: new Date(this.stats.lastDay * 86_400_000).toISOString().slice(0, 10),
    };
  }

  private require(openid: string): number {
    const index = this.indexOf(openid);
    if (index === undefined) throw new InputError('not an openid of this account');
    return index;
  }
}
