import { type Breaker, type BreakerOptions, createBreaker, VigilError } from '@vigil/shared';
import { describeProviderFailure, providerFailure } from './providers/provider-errors.js';
import type { ProviderValue, SecretProvider } from './providers/types.js';

/**
 * Over the provider's own bound (aws-timeout.ts): the provider's timeout fires first and names the cause in its
 * own words; the breaker's only catches a provider whose bound failed, so that a hang always ends as a failure.
 */
const BACKSTOP_MARGIN_MS = 1_000;

export interface ProviderBreakerOptions extends Omit<BreakerOptions, 'timeoutMs' | 'describe'> {
  provider: SecretProvider;
  /** The provider's own bound on one call (every attempt included); false: none (file and env read locally). */
  callBoundMs: number | false;
}

export interface ProviderBreaker {
  /** One provider call through the breaker; a call over the bound rejects as a provider TimeoutError. */
  fetch(name: string): Promise<ProviderValue>;
  readonly breaker: Breaker<[string], ProviderValue>;
}

/**
 * The shared `secrets-provider` breaker. A hang counts as a failure (a call timeout), so a hanging provider serves
 * stale values, fails warm cycles and opens the breaker like a failing one; and its events name what the provider
 * said (`InternalServiceError`, `TimeoutError`) for no particular secret, not Vigil's wrapper for the 5th call's.
 */
export function createProviderBreaker(opts: ProviderBreakerOptions): ProviderBreaker {
  const { provider, callBoundMs, ...breakerOpts } = opts;
  const timeoutMs = callBoundMs === false ? false : callBoundMs + BACKSTOP_MARGIN_MS;
  const breaker = createBreaker('secrets-provider', (name: string) => provider.get(name), {
    ...breakerOpts,
    timeoutMs,
    describe: (err) => {
      const timedOut = breakerTimeout(err, provider.name, timeoutMs);
      if (timedOut) return { type: 'TimeoutError', message: timedOut };
      const f = describeProviderFailure(err);
      return { type: f.type, message: f.reason };
    },
  });
  return {
    breaker,
    fetch: (name) =>
      breaker.fire(name).catch((err: unknown) => {
        const timedOut = breakerTimeout(err, provider.name, timeoutMs);
        throw timedOut ? providerFailure(name, provider.name, 'TimeoutError', timedOut) : err;
      }),
  };
}

/**
 * The breaker's own call timeout (opossum: a plain Error, code ETIMEDOUT) says what a provider failure would
 * (providers throw Vigil errors already): the reason, without a secret's name; undefined for any other error.
 */
function breakerTimeout(err: unknown, provider: string, boundMs: number | false): string | undefined {
  if (err instanceof VigilError || (err as { code?: unknown })?.code !== 'ETIMEDOUT') return undefined;
  return `the ${provider} provider did not answer within ${boundMs} ms`;
}
