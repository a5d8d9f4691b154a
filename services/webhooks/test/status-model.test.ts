import { describe, expect, it } from 'vitest';
import { cleanupAction, fromHash, ttlSecondsFor } from '../src/status-model.js';

describe('status model', () => {
  it('30 minutes after success, 7 days otherwise', () => {
    expect(ttlSecondsFor('delivered')).toBe(1800);
    for (const s of ['pending', 'failed', 'dead'] as const) expect(ttlSecondsFor(s)).toBe(604800);
  });

  it('shows a hash as the API view', () => {
    const v = fromHash('a', {
      status: 'delivered',
      attempts: '3',
      lastStatusCode: '200',
      createdAt: '1000',
      deliveredAt: '4000',
      nextAttemptAt: '3000',
    });
    expect(v).toEqual({
      id: 'a',
      status: 'delivered',
      attempts: 3,
      lastStatusCode: 200,
      createdAt: new Date(1000).toISOString(),
      deliveredAt: new Date(4000).toISOString(),
      totalMs: 3000,
    });
    expect(fromHash('b', { attempts: '1' })).toBeUndefined();
  });

  it('cleanup keeps keys with a TTL, repairs or removes keys without one, removes malformed ones', () => {
    const now = 10 * 86400_000;
    expect(cleanupAction({ status: 'pending', createdAt: '0' }, 100, now)).toEqual({ kind: 'keep' });
    expect(cleanupAction({ status: 'dead', updatedAt: String(now - 1000) }, -1, now)).toEqual({
      kind: 'expire',
      seconds: 604799,
    });
    expect(cleanupAction({ status: 'failed', updatedAt: String(now - 8 * 86400_000) }, -1, now)).toEqual({
      kind: 'delete',
      why: 'expired',
    });
    expect(cleanupAction({ status: 'delivered', deliveredAt: String(now - 31 * 60_000) }, -1, now)).toMatchObject({
      kind: 'delete',
    });
    expect(cleanupAction({ foo: 'bar' }, 50, now)).toEqual({ kind: 'delete', why: 'malformed' });
  });
});
