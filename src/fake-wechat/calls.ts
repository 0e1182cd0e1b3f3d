/** Names the fake platform counts calls under (publisher/stat is counted per action). */
export const FAKE_ENDPOINTS = [
  'token',
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

export interface CallsSnapshot {
  total: number;
  counts: Partial<Record<FakeEndpoint, number>>;
  /** Largest list seen in one request (batchget user_list, blacklist openid_list), even a rejected one. */
  maxBatch: Partial<Record<FakeEndpoint, number>>;
  /** Sum of those lists' lengths: e.g. how many profiles batchget was asked for in all. */
  items: Partial<Record<FakeEndpoint, number>>;
}

/**
 * Per-endpoint call counter: every request is counted when it arrives, before faults and token
 * checks, so "exactly one token fetch" and "no batchget above 100" can be asserted.
 */
export class CallCounter {
  private counts = new Map<FakeEndpoint, number>();
  private batches = new Map<FakeEndpoint, number>();
  private items = new Map<FakeEndpoint, number>();

  record(endpoint: FakeEndpoint): void {
    this.counts.set(endpoint, (this.counts.get(endpoint) ?? 0) + 1);
  }

  recordBatch(endpoint: FakeEndpoint, size: number): void {
    this.batches.set(endpoint, Math.max(this.batches.get(endpoint) ?? 0, size));
    this.items.set(endpoint, (this.items.get(endpoint) ?? 0) + size);
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
    };
  }

  reset(): void {
    this.counts = new Map();
    this.batches = new Map();
    this.items = new Map();
  }
}
