/**
 * Fast, seedable integer hashing and a small PRNG. The fake platform derives every follower's
 * profile from (seed, index) on demand, so 1,000,000 followers cost no memory until mutated:
 * these functions must be pure, fast and stable across Node versions (32-bit integer math only).
 */

/** Final mixer of MurmurHash3 / splitmix32: a good avalanche on 32-bit integers. */
export function mix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Hash of any number of 32-bit integers (order matters). */
export function hash32(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) h = mix32(h ^ mix32((part | 0) + 0x7f4a7c15));
  return h;
}

/** FNV-1a of a string, so a seed may be given as text ("demo") or as a number. */
export function seedOf(seed: string | number): number {
  if (typeof seed === 'number') return mix32(seed);
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A mulberry32 generator: `next()` in [0, 1). */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  nextU32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  next(): number {
    return this.nextU32() / 4294967296;
  }
  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64URL_INDEX = new Map([...B64URL].map((c, i) => [c, i]));

/** `n` base64url characters drawn from a generator. */
export function randomChars(rng: Rng, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += B64URL[rng.nextU32() & 63];
  return out;
}

/** Encodes 32 bits into 6 base64url characters (the 4 spare bits come from `noise`). */
export function encode32(x: number, noise: number): string {
  const hi = ((noise & 0xf) << 2) | (x >>> 30);
  let out = B64URL[hi]!;
  for (let shift = 24; shift >= 0; shift -= 6) out += B64URL[(x >>> shift) & 63];
  return out;
}

/** Inverse of encode32, or undefined when the text is not 6 base64url characters. */
export function decode32(text: string): number | undefined {
  if (text.length !== 6) return undefined;
  let x = 0;
  for (let i = 0; i < 6; i++) {
    const v = B64URL_INDEX.get(text[i]!);
    if (v === undefined) return undefined;
    x = i === 0 ? v & 3 : ((x << 6) | v) >>> 0;
  }
  return x >>> 0;
}

/** Multiplicative inverse of an odd number modulo 2^32 (Newton's iteration). */
function inverseOdd(c: number): number {
  let inv = c;
  for (let i = 0; i < 5; i++) inv = Math.imul(inv, 2 - Math.imul(c, inv));
  return inv >>> 0;
}

/**
 * A keyed bijection on 32-bit integers and its inverse: openids encode a permuted index, so they
 * look random, keep a stable order, and map back to their follower without any lookup table.
 */
export class Permutation32 {
  private static readonly C1 = 0x2c1b3c6d;
  private static readonly C2 = 0x297a2d39;
  private static readonly I1 = inverseOdd(Permutation32.C1 | 1);
  private static readonly I2 = inverseOdd(Permutation32.C2 | 1);
  constructor(private readonly key: number) {}
  forward(x: number): number {
    let h = Math.imul((x ^ this.key) >>> 0, Permutation32.C1 | 1) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
    h = Math.imul(h, Permutation32.C2 | 1) >>> 0;
    return (h ^ (h >>> 16)) >>> 0;
  }
  inverse(y: number): number {
    let h = (y ^ (y >>> 16)) >>> 0;
    h = Math.imul(h, Permutation32.I2) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
    return ((Math.imul(h, Permutation32.I1) >>> 0) ^ this.key) >>> 0;
  }
}
