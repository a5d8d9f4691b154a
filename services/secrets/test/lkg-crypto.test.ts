import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { open, parseCacheKey, seal } from '../src/lkg-crypto.js';

describe('last-known-good sealing', () => {
  const key = parseCacheKey(randomBytes(32).toString('base64'));

  it('round-trips and never contains the plaintext; a fresh nonce each time', () => {
    const a = seal(key, 'db', 'hunter2-super-secret');
    const b = seal(key, 'db', 'hunter2-super-secret');
    expect(JSON.stringify(a)).not.toContain('hunter2');
    expect(a.iv).not.toBe(b.iv);
    expect(Buffer.from(a.iv, 'base64')).toHaveLength(12);
    expect(a.kid).toMatch(/^[0-9a-f]{8}$/);
    expect(open(key, 'db', a)).toBe('hunter2-super-secret');
  });

  it('refuses another key, another name, or a tampered record', () => {
    const rec = seal(key, 'db', 'v');
    const other = parseCacheKey(randomBytes(32).toString('base64'));
    expect(() => open(other, 'db', rec)).toThrow(/sealed with key/);
    expect(() => open(key, 'other', rec)).toThrow();
    const ct = Buffer.from(rec.ct, 'base64');
    ct[0] ^= 1;
    expect(() => open(key, 'db', { ...rec, ct: ct.toString('base64') })).toThrow();
  });

  it('rejects a key that is not 32 bytes', () => {
    expect(() => parseCacheKey(randomBytes(16).toString('base64'))).toThrow(/32 bytes/);
  });
});
