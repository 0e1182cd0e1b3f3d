/**
 * WeChat's callback signatures: `sha1(sort(parts).join(''))`, hex. The GET verification signs
 * [token, timestamp, nonce]; a safe-mode push signs [token, timestamp, nonce, Encrypt] as
 * `msg_signature`. The sort is a plain code-unit string sort, as every SDK and WeChat itself do.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { errorFamily } from '../errors.ts';

export function sha1Signature(...parts: string[]): string {
  return createHash('sha1')
    .update([...parts].sort().join(''), 'utf8')
    .digest('hex');
}

/**
 * Whether `expected` (the signature the caller sent) matches the parts. Constant-time in the
 * signature's content, so a forger learns nothing from response times. Hex case is ignored:
 * WeChat sends lowercase, but upper-case hex is the same number.
 */
export function signatureMatches(expected: string, ...parts: string[]): boolean {
  const actual = Buffer.from(sha1Signature(...parts), 'utf8');
  const given = Buffer.from(expected.toLowerCase(), 'utf8');
  if (given.length !== actual.length) return false;
  return timingSafeEqual(given, actual);
}

/** A callback request whose signature is missing, wrong or stale: 401, never retried. */
export class SignatureError extends errorFamily(401, false, 'bad_signature') {}
