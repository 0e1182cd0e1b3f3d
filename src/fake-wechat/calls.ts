/** Names the fake platform counts calls under (publisher/stat is counted per action). */
export const FAKE_ENDPOINTS = [
  'token',
  'stable_token',
  'quota/get',
  'quota/clear',
  'clear_quota',
  'get_api_domain_ip',
  'shorturl',
  'user/info',
  'user/info/batchget',
  'user/get',
  'tags/get',
  'getblacklist',
  'batchblacklist',
  'batchunblacklist',
  'getusersummary',
  'getusercumulate',
  'publisher_cps_general',
  'publisher_settlement',
] as const;
export type FakeEndpoint = (typeof FAKE_ENDPOINTS)[number];

/** The cgi path WeChat counts each endpoint's daily quota under (undefined: not quota-counted). */
export const CGI_PATHS: Readonly<Record<FakeEndpoint, string | undefined>> = {
  token: '/cgi-bin/token',
  stable_token: '/cgi-bin/stable_token',
  'quota/get': undefined,
  'quota/clear': undefined,
  clear_quota: undefined,
  get_api_domain_ip: '/cgi-bin/get_api_domain_ip',
  shorturl: '/cgi-bin/shorturl',
  'user/info': '/cgi-bin/user/info',
  'user/info/batchget': '/cgi-bin/user/info/batchget',
  'user/get': '/cgi-bin/user/get',
  getblacklist: '/cgi-bin/tags/members/getblacklist',
  batchblacklist: '/cgi-bin/tags/members/batchblacklist',
  batchunblacklist: '/cgi-bin/tags/members/batchunblacklist',
  getusersummary: '/datacube/getusersummary',
  getusercumulate: '/datacube/getusercumulate',
  publisher_cps_general: '/publisher/stat',
  publisher_settlement: '/publisher/stat',
  'tags/get': '/cgi-bin/tags/get',
};

export interface CallsSnapshot {
  total: number;
  counts: Partial<Record<FakeEndpoint, number>>;
  /** Largest list seen in one request (batchget user_list, blacklist openid_list), even a rejected one. */
  maxBatch: Partial<Record<FakeEndpoint, number>>;
  /** Sum of those lists' lengths: e.g. how many profiles batchget was asked for in all. */
  items: Partial<Record<FakeEndpoint, number>>;
  /**
   * Error answers given by the layer every call goes through (token check, quota, injected
   * faults), per errcode: e.g. how many 40001 the platform answered during a run.
   */
  errcodes: Record<string, number>;
}

/**
 * Per-endpoint call counter: every request is counted when it arrives, before faults and token
 * checks, so "exactly one token fetch" and "no batchget above 100" can be asserted.
 */
export class CallCounter {
  private counts = new Map<FakeEndpoint, number>();
  private batches = new Map<FakeEndpoint, number>();
  private items = new Map<FakeEndpoint, number>();
  private errors = new Map<number, number>();

  record(endpoint: FakeEndpoint): void {
    this.counts.set(endpoint, (this.counts.get(endpoint) ?? 0) + 1);
  }

  recordBatch(endpoint: FakeEndpoint, size: number): void {
    this.batches.set(endpoint, Math.max(this.batches.get(endpoint) ?? 0, size));
    this.items.set(endpoint, (this.items.get(endpoint) ?? 0) + size);
  }

  recordError(errcode: number): void {
    this.errors.set(errcode, (this.errors.get(errcode) ?? 0) + 1);
  }

  /** How many times the common layer answered `errcode` (40001, 45009, ...). */
  errcodeCount(errcode: number): number {
    return this.errors.get(errcode) ?? 0;
  }

  /** access_token fetches of either kind (classic /cgi-bin/token and /cgi-bin/stable_token). */
  tokenFetches(): number {
    return this.count('token') + this.count('stable_token');
  }

  count(endpoint: FakeEndpoint): number {
    return this.counts.get(endpoint) ?? 0;
  }

  maxBatch(endpoint: FakeEndpoint): number {
    return this.batches.get(endpoint) ?? 0;
  }

  /** Items asked for over all requests (batchget: profiles requested). */
  itemCount(endpoint: FakeEndpoint): number {
    return this.items.get(endpoint) ?? 0;
  }

  total(): number {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }

  snapshot(): CallsSnapshot {
    return {
      total: this.total(),
      counts: Object.fromEntries(this.counts),
      maxBatch: Object.fromEntries(this.batches),
      items: Object.fromEntries(this.items),
      errcodes: Object.fromEntries(this.errors),
    };
  }

  reset(): void {
    this.counts = new Map();
    this.batches = new Map();
    this.items = new Map();
    this.errors = new Map();
  }
}
