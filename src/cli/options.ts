/** Parsers for commander options: a bad value is an InputError naming the flag. */
import { InputError } from '../errors.ts';

/** An integer flag in [min, max] (no upper bound unless given). */
export function intOption(name: string, min = 0, max?: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || (max !== undefined && n > max)) {
      const range = max === undefined ? `>= ${min}` : `between ${min} and ${max}`;
      throw new InputError(`--${name} must be an integer ${range}`);
    }
    return n;
  };
}

/** A share (fraction) flag in [0, 1]. */
export function shareOption(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!(n >= 0 && n <= 1)) throw new InputError(`--${name} must be between 0 and 1`);
    return n;
  };
}
