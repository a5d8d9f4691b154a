import { describe, expect, it } from 'vitest';
import { breakerRefusal, createBreaker, createRegistry, ErrorCode } from '@vigil/shared';
import { waitFor } from '@vigil/shared/testing';

describe('createBreaker timeoutMs', () => {
  it('a half-open trial that never settles times out and re-opens the breaker instead of pinning it half-open', async () => {
    // Without a call timeout, one hung trial keeps the breaker half-open for good and every other call is refused
    // with BREAKER_OPEN (the notifier's SMTP incident). With one, the trial fails at the timeout and the breaker
    // goes round again: open, half-open, a new trial.
    let mode: 'refuse' | 'hang' | 'ok' = 'refuse';
    const hung: Array<() => void> = [];
    const transitions: string[] = [];
    const breaker = createBreaker(
      'smtp',
      (x: number) => {
        if (mode === 'refuse')
          return Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
        if (mode === 'hang') return new Promise<number>((resolve) => hung.push(() => resolve(x)));
        return Promise.resolve(x * 2);
      },
      { service: 'notifier', registry: createRegistry(), resetTimeoutMs: 100, timeoutMs: 150, failureThreshold: 1 },
    );
    for (const e of ['open', 'halfOpen', 'close'] as const) breaker.on(e, () => transitions.push(e));
    try {
      await expect(breaker.fire(1)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      expect(breaker.state).toBe('open');

      mode = 'hang';
      await waitFor(() => breaker.state === 'half-open', 2_000);
      const trial = breaker.fire(2).catch((e: unknown) => e);
      // while the trial runs, others are refused fast
      await expect(breaker.fire(3)).rejects.toMatchObject({ code: ErrorCode.BREAKER_OPEN });
      expect(await trial).toMatchObject({ code: 'ETIMEDOUT' });
      expect(breaker.state).toBe('open');

      mode = 'ok';
      await waitFor(() => breaker.state === 'half-open', 2_000);
      expect(await breaker.fire(21)).toBe(42);
      expect(breaker.state).toBe('closed');
      expect(transitions).toEqual(['open', 'halfOpen', 'open', 'halfOpen', 'close']);
    } finally {
      for (const r of hung) r();
      breaker.shutdown();
    }
  });
});

describe('breakerRefusal', () => {
  it('names the failure that opened the breaker, also under a wrapper; nothing for other errors', async () => {
    const b = createBreaker('llm', () => Promise.reject(new Error('HTTP 500 upstream overloaded')), {
      service: 'reports',
      registry: createRegistry(),
      resetTimeoutMs: 60_000,
      failureThreshold: 1,
    });
    await b.fire().catch(() => undefined);
    const refused = await b.fire().catch((err: unknown) => err);
    expect((refused as { code?: string }).code).toBe(ErrorCode.BREAKER_OPEN);
    expect(breakerRefusal(refused)?.openedBy).toMatchObject({ message: 'HTTP 500 upstream overloaded' });
    const wrapped = new Error('secret "db" is unavailable', { cause: refused });
    expect(breakerRefusal(wrapped)?.openedBy).toMatchObject({ message: 'HTTP 500 upstream overloaded' });
    expect(breakerRefusal(new Error('HTTP 500'))).toBeUndefined();
  });
});
