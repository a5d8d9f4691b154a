import { describe, expect, it } from 'vitest';
import { backoffMs, decide, type RetryPolicy } from '../src/retry-policy.js';

const policy: RetryPolicy = { maxRetries: 3, baseMs: 1000, capMs: 60_000, maxRetryAfterMs: 3_600_000 };

describe('retry policy', () => {
  it('2xx is delivered', () => {
    expect(decide({ kind: 'response', status: 204 }, 1, policy)).toEqual({ action: 'delivered' });
  });

  it.each([408, 425, 429, 500, 502, 503, 504])('%i is retried', (status) => {
    expect(decide({ kind: 'response', status }, 1, policy).action).toBe('retry');
  });

  it.each([400, 401, 403, 404, 410, 422, 301, 302])('%i is permanent, never retried', (status) => {
    expect(decide({ kind: 'response', status }, 1, policy)).toMatchObject({ action: 'dead', reason: 'permanent' });
  });

  it('network errors are retried; SSRF refusals are not', () => {
    expect(decide({ kind: 'network', message: 'x', code: 'ECONNREFUSED' }, 1, policy).action).toBe('retry');
    expect(decide({ kind: 'refused', message: 'no' }, 1, policy)).toMatchObject({ action: 'dead' });
  });

  it('a network reason names its code once', () => {
    const refused = { kind: 'network' as const, message: 'connect ECONNREFUSED 10.0.0.1:443', code: 'ECONNREFUSED' };
    expect(decide(refused, 4, policy)).toMatchObject({ message: 'connect ECONNREFUSED 10.0.0.1:443' });
    const reset = { kind: 'network' as const, message: 'other side closed', code: 'UND_ERR_SOCKET' };
    expect(decide(reset, 1, policy)).toMatchObject({ reason: 'UND_ERR_SOCKET: other side closed' });
  });

  it('max 3 retries: the 4th failed attempt is the last', () => {
    const fail = { kind: 'response' as const, status: 500 };
    expect(decide(fail, 3, policy).action).toBe('retry');
    expect(decide(fail, 4, policy)).toMatchObject({ action: 'dead', reason: 'exhausted', message: 'HTTP 500' });
  });

  it('Retry-After wins over backoff, bounded', () => {
    expect(decide({ kind: 'response', status: 429, retryAfterMs: 2000 }, 1, policy)).toMatchObject({ delayMs: 2000 });
    expect(decide({ kind: 'response', status: 425, retryAfterMs: 3000 }, 1, policy)).toMatchObject({ delayMs: 3000 });
    const huge = decide({ kind: 'response', status: 503, retryAfterMs: 9e12 }, 1, policy);
    expect(huge).toMatchObject({ delayMs: policy.maxRetryAfterMs });
  });

  it('full jitter stays in [0, min(cap, base*2^(n-1))] and the ceiling grows', () => {
    for (let attempt = 1; attempt <= 8; attempt++) {
      const ceiling = Math.min(60_000, 1000 * 2 ** (attempt - 1));
      expect(backoffMs(attempt, { ...policy, random: () => 0.999999 })).toBe(Math.round(0.999999 * ceiling));
      expect(backoffMs(attempt, { ...policy, random: () => 0 })).toBe(0);
      for (let i = 0; i < 50; i++) {
        const d = backoffMs(attempt, policy);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(ceiling);
      }
    }
  });
});
