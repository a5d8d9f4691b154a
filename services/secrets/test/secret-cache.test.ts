import { ErrorCode, PermanentError, TransientError } from '@vigil/shared';
import { waitFor } from '@vigil/shared/testing';
import { describe, expect, it } from 'vitest';
import { providerFailure, secretNotFound } from '../src/providers/provider-errors.js';
import type { ProviderValue } from '../src/providers/types.js';
import type { CacheHooks, StoredSecret } from '../src/cache-types.js';
import { SecretCache } from '../src/secret-cache.js';

const HOUR = 3_600_000;

function setup(opts: { lkg?: Record<string, StoredSecret>; maxStaleMs?: number; staleAfterMs?: number } = {}) {
  let now = 1_000_000_000_000;
  const values = new Map<string, string>([['db', 'pw-1']]);
  let failing: string | undefined;
  let failWith: Error | undefined;
  let calls = 0;
  let answered = 0;
  let delayMs = 5;
  const events: string[] = [];
  const hooks: CacheHooks = {
    staleServed: (i) =>
      events.push(`stale:${i.name}:${i.errorType}:${i.ageSeconds}:new=${i.newError}:first=${i.firstInOutage}`),
    recovered: (i) => events.push(`recovered:${i.name}`),
    stored: (n) => events.push(`stored:${n}`),
    slowProvider: (i) => events.push(`slow:${i.name}:${i.ageSeconds}`),
    providerCall: () => {
      answered++;
    },
  };
  const fetch = async (name: string): Promise<ProviderValue> => {
    calls++;
    await new Promise((r) => setTimeout(r, delayMs));
    if (failWith) throw failWith;
    if (failing) throw new TransientError('boom', { code: ErrorCode.SECRETS_PROVIDER, details: { type: failing } });
    const v = values.get(name);
    if (v === undefined) throw secretNotFound(name, 'aws');
    return { value: v, version: 'v1' };
  };
  const cache = new SecretCache({
    fetch,
    providerName: 'aws',
    now: () => now,
    ttlMs: () => HOUR,
    refreshAheadMs: (ttl) => ttl * 0.1,
    maxStaleMs: opts.maxStaleMs ?? 7 * 24 * HOUR,
    errorBackoffMs: 5_000,
    staleAfterMs: opts.staleAfterMs,
    lastKnownGood: opts.lkg ? { load: async (n) => opts.lkg?.[n] } : undefined,
    hooks,
  });
  return {
    cache,
    values,
    events,
    calls: () => calls,
    /** Provider calls that have answered (value or error) and been taken in by the cache. */
    answered: () => answered,
    fail: (type: string | undefined) => {
      failing = type;
    },
    failWith: (err: Error | undefined) => {
      failWith = err;
    },
    setDelay: (ms: number) => {
      delayMs = ms;
    },
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
  };
}

describe('SecretCache', () => {
  it('serves a fresh value and answers from memory within the TTL', async () => {
    const t = setup();
    expect(await t.cache.get('db')).toMatchObject({ value: 'pw-1', stale: false, ageSeconds: 0, source: 'aws' });
    t.advance(10 * 60_000);
    expect(await t.cache.get('db')).toMatchObject({ value: 'pw-1', stale: false, ageSeconds: 600 });
    expect(t.calls()).toBe(1);
  });

  it('100 concurrent cold gets make one provider call', async () => {
    const t = setup();
    const all = await Promise.all(Array.from({ length: 100 }, () => t.cache.get('db')));
    expect(all.every((r) => r.value === 'pw-1')).toBe(true);
    expect(t.calls()).toBe(1);
  });

  it('refreshes ahead of expiry in the background', async () => {
    const t = setup();
    await t.cache.get('db');
    t.values.set('db', 'pw-2');
    t.advance(55 * 60_000);
    expect((await t.cache.get('db')).value).toBe('pw-1'); // answered at once
    await waitFor(() => t.answered() === 2); // the background call is done
    expect(t.calls()).toBe(2);
    expect((await t.cache.get('db')).value).toBe('pw-2');
  });

  it('a failed refresh-ahead keeps serving the value as fresh until its TTL ends', async () => {
    const t = setup();
    await t.cache.get('db');
    t.fail('ThrottlingException');
    t.advance(55 * 60_000);
    expect(await t.cache.get('db')).toMatchObject({ stale: false });
    await waitFor(() => t.answered() === 2); // the refresh-ahead call has failed
    expect(await t.cache.get('db')).toMatchObject({ stale: false, ageSeconds: 3300 });
    expect(t.cache.status()[0]).toMatchObject({ stale: false, lastError: { type: 'ThrottlingException' } });
    expect(t.events.some((e) => e.startsWith('stale:'))).toBe(false);
    t.advance(5 * 60_000);
    expect(await t.cache.get('db')).toMatchObject({ stale: true, ageSeconds: 3600 });
    expect(t.events.filter((e) => e.startsWith('stale:'))).toHaveLength(1);
  });

  it('serves stale with its age on provider errors, reports the outage once, then recovers', async () => {
    const t = setup();
    await t.cache.get('db');
    t.advance(HOUR + 1_000);
    t.fail('InternalServiceError');
    expect(await t.cache.get('db')).toMatchObject({ value: 'pw-1', stale: true, ageSeconds: 3601 });
    // Within the error backoff: answered from memory without a provider call.
    expect(await t.cache.get('db')).toMatchObject({ stale: true });
    expect(t.calls()).toBe(2);
    t.advance(6_000);
    await t.cache.get('db');
    await waitFor(() => t.answered() === 3); // the background call has failed again
    expect(t.events.filter((e) => e.startsWith('stale:'))).toEqual([
      'stale:db:InternalServiceError:3601:new=true:first=true',
      'stale:db:InternalServiceError:3601:new=false:first=false',
      'stale:db:InternalServiceError:3607:new=false:first=false',
    ]);
    expect(t.calls()).toBe(3);
    expect(await t.cache.get('db')).toMatchObject({ stale: true, ageSeconds: 3607 });
    expect(t.events.at(-1)).toBe('stale:db:InternalServiceError:3607:new=true:first=false');
    expect(t.cache.status()[0]).toMatchObject({ name: 'db', stale: true, lastError: { type: 'InternalServiceError' } });
    t.fail(undefined);
    t.advance(6_000);
    await t.cache.get('db'); // still stale, triggers the background call
    await waitFor(() => t.events.includes('recovered:db'));
    expect(t.events).toContain('recovered:db');
    expect(await t.cache.get('db')).toMatchObject({ stale: false, ageSeconds: 0 });
    expect(t.cache.status()[0].lastError).toBeUndefined();
  });

  it('answers stale when the provider is slower than staleAfterMs, then has the fresh value', async () => {
    const t = setup({ staleAfterMs: 30 });
    await t.cache.get('db');
    t.values.set('db', 'pw-2');
    t.setDelay(200);
    t.advance(HOUR + 1_000);
    const started = Date.now();
    expect(await t.cache.get('db')).toMatchObject({ value: 'pw-1', stale: true, ageSeconds: 3601 });
    expect(Date.now() - started).toBeLessThan(150);
    expect(t.events).toContain('slow:db:3601');
    await waitFor(() => t.answered() === 2); // the slow call has answered
    expect(await t.cache.get('db')).toMatchObject({ value: 'pw-2', stale: false });
  });

  it('fails with SECRET_UNAVAILABLE and a clear message when nothing was ever cached', async () => {
    const t = setup();
    t.fail('InternalServiceError');
    const err = await t.cache.get('db').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).code).toBe(ErrorCode.SECRET_UNAVAILABLE);
    expect((err as Error).message).toMatch(
      /InternalServiceError.*no value has been cached.*SECRETS_CACHE_KEY is unset/,
    );
  });

  it('serves the last-known-good copy as stale on a cold start during an outage', async () => {
    const t = setup({ lkg: { db: { value: 'old', fetchedAt: 1_000_000_000_000 - 1_800_000, source: 'aws' } } });
    t.fail('InternalServiceError');
    expect(await t.cache.get('db')).toMatchObject({
      value: 'old',
      stale: true,
      ageSeconds: 1800,
      source: 'last-known-good',
    });
  });

  it('stops serving a value older than the maximum stale age', async () => {
    const t = setup({ maxStaleMs: 2 * HOUR });
    await t.cache.get('db');
    t.fail('InternalServiceError');
    t.advance(3 * HOUR);
    const err = await t.cache.get('db').catch((e: unknown) => e);
    expect((err as TransientError).code).toBe(ErrorCode.SECRET_UNAVAILABLE);
    expect((err as Error).message).toMatch(/older than the maximum stale age/);
  });

  it('a secret the provider says does not exist is a PermanentError and is evicted', async () => {
    const t = setup();
    await t.cache.get('db');
    t.values.delete('db');
    t.advance(HOUR + 1);
    const err = await t.cache.get('db').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).code).toBe(ErrorCode.SECRET_NOT_FOUND);
    expect(t.cache.status()).toMatchObject([
      { name: 'db', cached: false, lastError: { type: 'ResourceNotFoundException' } },
    ]);
  });
  it('status names a call the open breaker refused by the provider error that opened it', async () => {
    const t = setup();
    await t.cache.get('db');
    t.advance(HOUR + 1_000);
    const opened = providerFailure('other', 'file', 'ENOENT', 'secrets file /tmp/x/secrets.json does not exist');
    // what the shared breaker throws while open: VIGIL_E_BREAKER_OPEN, the last provider error as its cause
    t.failWith(new TransientError('breaker secrets-provider is open', { code: ErrorCode.BREAKER_OPEN, cause: opened }));
    expect(await t.cache.get('db')).toMatchObject({ stale: true });
    const row = t.cache.status()[0];
    expect(row.lastError).toMatchObject({
      type: 'ENOENT',
      message:
        'not asked: the provider breaker is open after provider errors (last: ENOENT: secrets file /tmp/x/secrets.json does not exist)',
    });
    expect(JSON.stringify(row)).not.toContain(ErrorCode.BREAKER_OPEN);
    // nothing cached: the 503 names the provider error too
    const err = (await t.cache.get('cold').catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/provider error ENOENT and no value has been cached/);
    expect(t.cache.status().find((r) => r.name === 'cold')?.lastError?.type).toBe('ENOENT');
  });

  it('status: a wrong name is not listed; a configured or deleted secret the provider lacks is, as not found', async () => {
    const t = setup();
    await t.cache.get('db');
    t.cache.setConfigured(['db', 'configured-missing']);
    await expect(t.cache.get('does-not-exist')).rejects.toBeInstanceOf(PermanentError);
    await expect(t.cache.refresh('configured-missing')).rejects.toBeInstanceOf(PermanentError);
    expect(t.cache.status().map((r) => r.name)).toEqual(['configured-missing', 'db']);
    expect(t.cache.status()[0]).toMatchObject({
      cached: false,
      stale: false,
      notFound: true,
      lastError: { type: 'ResourceNotFoundException' },
    });
    // an unconfigured secret that had a value here and was deleted stays listed (it was in use)
    t.cache.setConfigured([]);
    t.values.delete('db');
    t.advance(HOUR + 1);
    await expect(t.cache.get('db')).rejects.toBeInstanceOf(PermanentError);
    expect(t.cache.status()).toMatchObject([{ name: 'db', cached: false, stale: false, notFound: true }]);
  });
});
