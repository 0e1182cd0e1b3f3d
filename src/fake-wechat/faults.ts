/**
 * Fault injection, per endpoint or for all ('*'). Rates are probabilities per call, drawn from a
 * seeded generator so a test run sees the same sequence of faults for the same order of calls.
 */
import { z } from 'zod';
import { InputError } from '../errors.ts';
import { FAKE_ENDPOINTS, type FakeEndpoint } from './calls.ts';
import { hash32, Rng } from './prng.ts';

const Rate = z.number().min(0).max(1);
export const FaultRule = z
  .object({
    /** Added to every call. */
    latencyMs: z.number().min(0).optional(),
    /** Uniform extra latency in [0, jitterMs]. */
    jitterMs: z.number().min(0).optional(),
    /** Share of calls that take spikeMs more. */
    spikeRate: Rate.optional(),
    spikeMs: z.number().min(0).optional(),
    /** Answer `{errcode, errmsg}` (publisher/stat: base_resp.ret) at errorRate. */
    errcode: z.number().int().optional(),
    errorRate: Rate.optional(),
    http500Rate: Rate.optional(),
    http502Rate: Rate.optional(),
    /** Destroy the socket without answering. */
    dropRate: Rate.optional(),
    /** Cut the JSON body in half (valid HTTP, broken JSON). */
    truncateRate: Rate.optional(),
    /** Answer an HTML error page with status 200, as proxies in front of WeChat sometimes do. */
    nonJsonRate: Rate.optional(),
    /** user/info/batchget: share of the requested users left out of user_info_list (WeChat does so). */
    omitRate: Rate.optional(),
  })
  .strict();
export type FaultRule = z.infer<typeof FaultRule>;

export const FaultTarget = z.union([z.enum(FAKE_ENDPOINTS), z.literal('*')]);
export type FaultTarget = z.infer<typeof FaultTarget>;

export const FaultConfig = z
  .object({
    rules: z.partialRecord(FaultTarget, FaultRule).default({}),
    /** Force every token to expire each N seconds (null: never). */
    tokenExpiryEveryS: z.number().positive().nullable().default(null),
  })
  .strict();
export type FaultConfig = z.infer<typeof FaultConfig>;
export type FaultConfigInput = z.input<typeof FaultConfig>;

export type FaultAction =
  | { kind: 'none' }
  | { kind: 'errcode'; errcode: number }
  | { kind: 'http'; status: 500 | 502 }
  | { kind: 'drop' }
  | { kind: 'truncate' }
  | { kind: 'nonjson' };

export interface FaultDecision {
  delayMs: number;
  action: FaultAction;
}

export class Faults {
  private rules = new Map<FaultTarget, FaultRule>();
  private tokenExpiryEveryS: number | null = null;
  private lastForcedExpiry: number;
  private readonly rng: Rng;

  constructor(
    seed: number,
    private readonly now: () => number,
    private readonly expireTokens: () => void,
    initial: FaultConfigInput = {},
  ) {
    this.rng = new Rng(hash32(seed, 0xfa17));
    this.lastForcedExpiry = now();
    this.configure(initial);
  }

  /** Replaces the whole configuration. */
  configure(config: FaultConfigInput): void {
    const parsed = parse(FaultConfig, config);
    this.rules = new Map(Object.entries(parsed.rules) as [FaultTarget, FaultRule][]);
    this.expireTokenEvery(parsed.tokenExpiryEveryS);
  }

  /** Sets (replaces) the rule of one target. */
  set(target: FaultTarget, rule: FaultRule): void {
    this.rules.set(parse(FaultTarget, target), parse(FaultRule, rule));
  }

  /** Merges fields into the rule of one target. */
  update(target: FaultTarget, rule: FaultRule): void {
    const t = parse(FaultTarget, target);
    this.rules.set(t, { ...this.rules.get(t), ...parse(FaultRule, rule) });
  }

  /** Removes the rule of one target, or every rule (and the periodic token expiry). */
  clear(target?: FaultTarget): void {
    if (target === undefined) {
      this.rules.clear();
      this.tokenExpiryEveryS = null;
    } else this.rules.delete(parse(FaultTarget, target));
  }

  /** Every token issued so far stops working now. */
  expireTokenNow(): void {
    this.expireTokens();
    this.lastForcedExpiry = this.now();
  }

  expireTokenEvery(seconds: number | null): void {
    this.tokenExpiryEveryS = seconds;
    this.lastForcedExpiry = this.now();
  }

  snapshot(): FaultConfig {
    return { rules: Object.fromEntries(this.rules), tokenExpiryEveryS: this.tokenExpiryEveryS };
  }

  /** The rule in force for an endpoint: its own fields over the '*' ones. */
  effective(endpoint: FakeEndpoint): FaultRule {
    return { ...this.rules.get('*'), ...this.rules.get(endpoint) };
  }

  /** Called once per WeChat call: applies periodic token expiry and draws this call's fault. */
  decide(endpoint: FakeEndpoint): FaultDecision {
    if (
      this.tokenExpiryEveryS !== null &&
      this.now() - this.lastForcedExpiry >= this.tokenExpiryEveryS * 1000
    ) {
      this.expireTokenNow();
    }
    const rule = this.effective(endpoint);
    let delayMs = rule.latencyMs ?? 0;
    if (rule.jitterMs) delayMs += this.rng.next() * rule.jitterMs;
    if (rule.spikeRate && this.rng.next() < rule.spikeRate) delayMs += rule.spikeMs ?? 5000;
    // One draw decides among mutually exclusive failures, so their rates add up as configured.
    let r = this.rng.next();
    const pick = (rate: number | undefined): boolean => {
      if (!rate) return false;
      if (r < rate) return true;
      r -= rate;
      return false;
    };
    let action: FaultAction = { kind: 'none' };
    if (pick(rule.dropRate)) action = { kind: 'drop' };
    else if (pick(rule.http500Rate)) action = { kind: 'http', status: 500 };
    else if (pick(rule.http502Rate)) action = { kind: 'http', status: 502 };
    else if (rule.errcode !== undefined && pick(rule.errorRate))
      action = { kind: 'errcode', errcode: rule.errcode };
    else if (pick(rule.truncateRate)) action = { kind: 'truncate' };
    else if (pick(rule.nonJsonRate)) action = { kind: 'nonjson' };
    return { delayMs, action };
  }

  /** Whether a batch call leaves one requested user out of its answer (omitRate). */
  leavesOut(endpoint: FakeEndpoint): boolean {
    const rate = this.effective(endpoint).omitRate;
    return rate !== undefined && rate > 0 && this.rng.next() < rate;
  }
}

function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw new InputError(`invalid fault configuration: ${z.prettifyError(result.error)}`);
  return result.data;
}

/**
 * Parses the CLI form `<endpoint|*>:key=value[:key=value...]`, e.g. `*:errcode=-1:rate=0.1`,
 * `user/get:http=502:rate=0.05`, `*:drop=0.01`, `*:latency=50:jitter=20`, `*:truncate=0.02`,
 * `*:nonjson=0.02`, `*:spike=0.01:spikeMs=3000`, `user/get:http=500:rate=0.1`,
 * `user/info/batchget:omit=0.01`.
 */
export function parseFaultSpec(spec: string): { target: FaultTarget; rule: FaultRule } {
  const [target, ...pairs] = spec.split(':');
  const fields = new Map<string, number>();
  for (const pair of pairs) {
    const [key, value] = pair.split('=');
    const n = Number(value);
    if (!key || value === undefined || Number.isNaN(n))
      throw new InputError(`bad fault spec "${spec}" at "${pair}"`);
    fields.set(key.toLowerCase(), n);
  }
  const rule: FaultRule = {};
  const rate = fields.get('rate');
  for (const [key, n] of fields) {
    switch (key) {
      case 'rate':
        break;
      case 'errcode':
        rule.errcode = n;
        rule.errorRate = rate ?? 1;
        break;
      case 'http':
        if (n !== 500 && n !== 502) throw new InputError(`bad fault spec "${spec}": http must be 500 or 502`);
        rule[n === 500 ? 'http500Rate' : 'http502Rate'] = rate ?? 1;
        break;
      case 'latency':
        rule.latencyMs = n;
        break;
      case 'jitter':
        rule.jitterMs = n;
        break;
      case 'spike':
        rule.spikeRate = n;
        break;
      case 'spikems':
        rule.spikeMs = n;
        break;
      case 'drop':
        rule.dropRate = n;
        break;
      case 'truncate':
        rule.truncateRate = n;
        break;
      case 'nonjson':
        rule.nonJsonRate = n;
        break;
      case 'omit':
        rule.omitRate = n;
        break;
      default:
        throw new InputError(`bad fault spec "${spec}": unknown key "${key}"`);
    }
  }
  return { target: parse(FaultTarget, target), rule: parse(FaultRule, rule) };
}
