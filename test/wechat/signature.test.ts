import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha1Signature, signatureMatches } from '../../src/wechat/signature.ts';

describe('sha1Signature', () => {
  it('sorts the parts as plain strings, joins them and hashes with sha1 (hex)', () => {
    // sorted: ['1409304348', 'testtoken123', 'xxxxxx'] (digits sort before letters)
    const expected = createHash('sha1').update('1409304348testtoken123xxxxxx').digest('hex');
    expect(sha1Signature('testtoken123', '1409304348', 'xxxxxx')).toBe(expected);
    expect(sha1Signature('xxxxxx', 'testtoken123', '1409304348')).toBe(expected);
  });

  it('matches a published vector (token "token", timestamp 1409735669, nonce 1320562132)', () => {
    // Computed independently: sha1("13205621321409735669token").
    expect(sha1Signature('token', '1409735669', '1320562132')).toBe(
      createHash('sha1').update('13205621321409735669token').digest('hex'),
    );
  });

  it('uses code-unit order, not locale order (upper case before lower case)', () => {
    expect(sha1Signature('b', 'B', 'a')).toBe(createHash('sha1').update('Bab').digest('hex'));
  });

  it('signs four parts for msg_signature', () => {
    expect(sha1Signature('t', '2', '1', 'Zenc')).toBe(createHash('sha1').update('12Zenct').digest('hex'));
  });
});

describe('signatureMatches', () => {
  const good = sha1Signature('testtoken123', '1700000000', 'nonce');

  it('accepts the right signature (either hex case)', () => {
    expect(signatureMatches(good, 'testtoken123', '1700000000', 'nonce')).toBe(true);
    expect(signatureMatches(good.toUpperCase(), 'testtoken123', '1700000000', 'nonce')).toBe(true);
  });

  it('rejects a wrong, truncated, empty or padded signature', () => {
    const flipped = (good[0] === 'a' ? 'b' : 'a') + good.slice(1);
    expect(signatureMatches(flipped, 'testtoken123', '1700000000', 'nonce')).toBe(false);
    expect(signatureMatches(good.slice(0, 39), 'testtoken123', '1700000000', 'nonce')).toBe(false);
    expect(signatureMatches('', 'testtoken123', '1700000000', 'nonce')).toBe(false);
    expect(signatureMatches(`${good}0`, 'testtoken123', '1700000000', 'nonce')).toBe(false);
    expect(signatureMatches(good, 'othertoken', '1700000000', 'nonce')).toBe(false);
  });
});
