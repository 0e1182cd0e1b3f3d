/**
 * The fake platform's clock: the configured time source plus an offset that tests, the admin API
 * (`PUT /__fake/clock`) and the CLI (`--clock`) can move, so token expiry and the daily quota
 * reset at 00:00 Beijing time can be reached without waiting.
 */
import { InputError } from '../errors.ts';

export class FakeClock {
  private offsetMs = 0;

  constructor(private readonly base: () => number) {}

  now(): number {
    return this.base() + this.offsetMs;
  }

  /** Jumps to `epochMs`; the clock keeps running from there. */
  set(epochMs: number): void {
    if (!Number.isFinite(epochMs)) throw new InputError('clock: not a valid time');
    this.offsetMs = epochMs - this.base();
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms)) throw new InputError('clock: not a valid duration');
    this.offsetMs += ms;
  }

  snapshot(): { now: string; epochMs: number; offsetMs: number } {
    const now = this.now();
    return { now: new Date(now).toISOString(), epochMs: now, offsetMs: this.offsetMs };
  }
}
