import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  httpStatusError,
  ManualClock,
  PermanentError,
  parseRetryAfter,
  retry,
  TransientError,
  ValidationError,
} from '@vigil/shared';

describe('backoffDelay', () => {
  it('grows exponentially up to the cap without jitter', () => {
    const d = [1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, { base: 100, cap: 2_000, jitter: 'none' }));
    expect(d).toEqual([100, 200, 400, 800, 1_600, 2_000]);
  });

  it('full jitter stays within [0, exponential) and spreads out', () => {
    for (let attempt = 1; attempt <= 8; attempt++) {
      const ceiling = Math.min(5_000, 100 * 2 ** (attempt - 1));
      const samples = Array.from({ length: 200 }, () => backoffDelay(attempt, { base: 100, cap: 5_000 }));
      expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...samples)).toBeLessThan(ceiling);
      expect(new Set(samples).size).toBeGreaterThan(10);
    }
    expect(backoffDelay(3, { base: 100, cap: 5_000, random: () => 0.5 })).toBe(200);
  });

  it("'full-inclusive' jitter rounds, so the exponential itself can be drawn", () => {
    const opts = { base: 1_000, cap: 60_000, jitter: 'full-inclusive' } as const;
    expect(backoffDelay(1, { ...opts, random: () => 0.999999 })).toBe(1_000);
    expect(backoffDelay(1, { base: 1_000, cap: 60_000, random: () => 0.999999 })).toBe(999);
    expect(backoffDelay(3, { ...opts, random: () => 0.25 })).toBe(1_000);
    expect(backoffDelay(9, { ...opts, random: () => 0 })).toBe(0);
  });
});

describe('retry', () => {
  it('retries transient failures with growing (jittered) delays and returns the result', async () => {
    const delays: number[] = [];
    const calls: number[] = [];
    const result = await retry(
      async (attempt) => {
        calls.push(attempt);
        if (attempt < 4) throw new TransientError('flaky');
        return 'ok';
      },
      { max: 5, base: 100, cap: 10_000, random: () => 0.999, sleep: async (ms) => void delays.push(ms) },
    );
    expect(result).toBe('ok');
    expect(calls).toEqual([1, 2, 3, 4]);
    expect(delays).toEqual([99, 199, 399]);
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThan(delays[i - 1]);
  });

  it('gives up after max retries and rethrows the last error unchanged', async () => {
    let calls = 0;
    const last = new TransientError('still down');
    await expect(
      retry(
        async () => {
          calls++;
          throw calls === 4 ? last : new TransientError('down');
        },
        { max: 3, sleep: async () => {} },
      ),
    ).rejects.toBe(last);
    expect(calls).toBe(4);
  });

  it('does not retry permanent or validation errors', async () => {
    for (const err of [new PermanentError('404'), new ValidationError('bad'), httpStatusError(400, 'bad request')]) {
      let calls = 0;
      await expect(
        retry(
          async () => {
            calls++;
            throw err;
          },
          { max: 5, sleep: async () => {} },
        ),
      ).rejects.toBe(err);
      expect(calls).toBe(1);
    }
  });

  it('honours Retry-After (429 with retryAfterMs) over its own backoff', async () => {
    const delays: number[] = [];
    let calls = 0;
    await retry(
      async () => {
        calls++;
        if (calls === 1) throw httpStatusError(429, 'slow down', parseRetryAfter('7'));
        if (calls === 2) throw httpStatusError(503, 'unavailable', parseRetryAfter('2'));
        return 'ok';
      },
      { max: 3, base: 10, sleep: async (ms) => void delays.push(ms) },
    );
    expect(delays).toEqual([7_000, 2_000]);
  });

  it('waits on an injected clock, reports each retry and stops when aborted', async () => {
    const clock = new ManualClock(0);
    const seen: Array<[number, number]> = [];
    const ac = new AbortController();
    let calls = 0;
    const p = retry(
      async () => {
        calls++;
        throw new TransientError('down');
      },
      { max: 10, base: 1_000, jitter: 'none', clock, signal: ac.signal, onRetry: (_e, a, d) => seen.push([a, d]) },
    );
    await clock.advance(1_000);
    await clock.advance(2_000);
    expect(calls).toBe(3);
    ac.abort(new Error('shutting down'));
    await expect(p).rejects.toThrow('shutting down');
    expect(seen).toEqual([
      [1, 1_000],
      [2, 2_000],
      [3, 4_000],
    ]);
  });
});
