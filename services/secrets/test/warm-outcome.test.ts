import { describe, expect, it } from 'vitest';
import { warmOutcome } from '../src/warm-outcome.js';

const r = (name: string, ok: boolean) => ({
  name,
  ok,
  ...(ok ? {} : { errorType: 'InternalServiceError', error: 'aws provider error InternalServiceError' }),
});
const ctx = (recovered = false) => ({
  recovered,
  at: '2026-01-01T00:00:00.000Z',
  provider: 'aws',
  durationMs: 12,
});

describe('warmOutcome', () => {
  it('more than half failed -> CRITICAL naming every failed secret', () => {
    const ev = warmOutcome([r('a', false), r('b', false), r('c', false), r('d', true), r('e', true)], ctx());
    expect(ev?.subject).toBe('secrets.refresh-failed');
    expect(ev?.data).toMatchObject({
      names: ['a', 'b', 'c'],
      total: 5,
      refreshed: 2,
      severity: 'CRITICAL',
      error: { type: 'InternalServiceError', class: 'transient' },
      failed: ['a', 'b', 'c'].map((name) => ({ name, type: 'InternalServiceError' })),
    });
  });
  it("names the cause in the provider's words (the file), once for every secret it failed", () => {
    const enoent = (name: string) => ({
      name,
      ok: false,
      errorType: 'ENOENT',
      error: `file provider error ENOENT for secret "${name}": secrets file /tmp/x/secrets.json does not exist`,
      reason: 'secrets file /tmp/x/secrets.json does not exist',
    });
    const ev = warmOutcome([enoent('a'), enoent('b'), enoent('c')], ctx(), () => true);
    expect(ev?.data).toMatchObject({ cached: true, error: { type: 'ENOENT', class: 'transient' } });
    expect(ev?.subject === 'secrets.refresh-failed' && ev.data.error.message).toBe(
      '3 of 3 secrets failed to refresh: a (ENOENT), b (ENOENT), c (ENOENT) — ENOENT: secrets file /tmp/x/secrets.json does not exist',
    );
  });
  it('a secret that does not exist is a permanent failure with no cached value', () => {
    const gone = {
      name: 'gone',
      ok: false,
      errorType: 'ResourceNotFoundException',
      error: 'secret "gone" does not exist in the aws provider',
      errorClass: 'permanent' as const,
      reason: 'no such secret in the aws provider',
    };
    const only = warmOutcome([gone, r('ok', true)], ctx(), () => false);
    expect(only?.data).toMatchObject({
      severity: 'WARNING',
      cached: false,
      error: { type: 'ResourceNotFoundException', class: 'permanent' },
      failed: [{ name: 'gone', class: 'permanent', cached: false }],
    });
    // with an outage beside it, the cycle as a whole may still pass by itself; each secret says which is which
    const mixed = warmOutcome([gone, r('a', false)], ctx(), (n) => n === 'a');
    expect(mixed?.data).toMatchObject({
      cached: false,
      error: { type: 'MultipleErrors', class: 'transient' },
      failed: [
        { name: 'gone', class: 'permanent', cached: false },
        { name: 'a', class: 'transient', cached: true },
      ],
    });
  });
  it('some failed -> WARNING; exactly half is not more than half', () => {
    expect(warmOutcome([r('a', false), r('b', true)], ctx())).toMatchObject({ data: { severity: 'WARNING' } });
  });
  it('all good after a failure -> refreshed with recovered: true', () => {
    expect(warmOutcome([r('a', true)], ctx(true))).toMatchObject({
      subject: 'secrets.refreshed',
      data: { names: ['a'], total: 1, recovered: true },
    });
    expect(warmOutcome([r('a', true)], ctx(false))).toMatchObject({ data: { recovered: false } });
    expect(warmOutcome([], ctx(true))).toBeUndefined();
  });
});
