/**
 * Client-side rate limit on WeChat calls, shared by every process through Redis: a fixed 1-second
 * window counter. Windows follow Redis' clock (TIME inside the script), so hosts with skewed clocks
 * still share the same windows. A caller over the limit sleeps until the next window and tries again.
 */
import type { Redis } from 'ioredis';
import { sleep } from './util.ts';

/** Returns {count in the current window, ms left in it, the window's second}. */
const TAKE = `
local t = redis.call('TIME')
local second = tonumber(t[1])
local usInto = tonumber(t[2])
local key = KEYS[1] .. ':' .. second
local count = redis.call('INCR', key)
if count == 1 then redis.call('PEXPIRE', key, 2000) end
return {count, 1000 - math.floor(usInto / 1000), second}`;

export interface RateLimiterOptions {
  redis: Redis;
  /** Key prefix; the window second is appended. */
  key: string;
  perSecond: number;
}

export class RateLimiter {
  constructor(private readonly options: RateLimiterOptions) {}

  /** Resolves once this caller may send one request, with the (Redis clock) second it was admitted in. */
  async acquire(): Promise<number> {
    for (;;) {
      const [count, msLeft, second] = (await this.options.redis.eval(
        TAKE,
        1,
        this.options.key,
      )) as number[] as [number, number, number];
      if (count <= this.options.perSecond) return second;
      // Small jitter so the waiters of one window do not all land on the first millisecond of the next.
      await sleep(Math.max(1, msLeft) + Math.floor(Math.random() * 20));
    }
  }
}
