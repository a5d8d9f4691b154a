import { describe, expect, it } from 'vitest';
import { warmOutcome } from '../src/warm-outcome.js';

const r = (name: string, ok: boolean) => ({
  name,
  ok,
  ...(ok ? {} : { errorType: 'InternalServiceError', error: 'aws provider error InternalServiceError' }),
});
const ctx = (previousHadFailures = false) => ({
  previousHadFailures,
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
