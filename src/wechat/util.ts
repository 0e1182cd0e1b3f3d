/** Small helpers shared by the WeChat client and its API modules. */

/** Splits `items` into consecutive chunks of at most `size` (WeChat's per-call limits). */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError('chunk size must be a positive integer');
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Capped exponential backoff with full jitter (AWS architecture blog): a uniform delay in
 * [0, min(cap, base * 2^(attempt-1))). Full jitter spreads the retries of many workers that failed
 * together (a WeChat "system busy" burst) instead of having them retry in lockstep.
 */
export function backoffDelay(attempt: number, baseMs: number, capMs: number, random = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
