import { type Logger, toErrorInfo } from '@vigil/shared';
import type { CacheHooks } from './cache-types.js';
import type { SecretsMetrics } from './secrets-metrics.js';
import { describeProviderFailure } from './providers/provider-errors.js';

export interface Publisher {
  publish(subject: string, data: Record<string, unknown>): Promise<unknown>;
}

/**
 * Turns what the cache reports into a WARN log line with the age (never the value), one
 * `secrets.stale-served` per secret per outage, `secrets.refreshed` on recovery, and metrics.
 */
export function outageReporter(deps: {
  log: Logger;
  bus: Publisher;
  metrics: SecretsMetrics;
  provider: string;
  now: () => number;
  onStored?: CacheHooks['stored'];
}): CacheHooks {
  const { log, bus, metrics, provider } = deps;
  const at = () => new Date(deps.now()).toISOString();
  const publish = (subject: string, data: Record<string, unknown>) => {
    void bus.publish(subject, data).catch((err: unknown) => log.warn({ err, subject }, 'event not published'));
  };
  return {
    staleServed({ name, ageSeconds, error, newError, firstInOutage, source }) {
      metrics.staleServed.inc({ name });
      metrics.cacheAge.set({ name }, ageSeconds);
      // Refused by the open breaker: named by the provider error that opened it (the alert groups with the others).
      const failure = describeProviderFailure(error);
      const errorType = failure.type;
      // One WARN per failed provider call, not per request served from the cache meanwhile.
      log[newError ? 'warn' : 'debug'](
        {
          secretName: name,
          provider,
          errorType,
          ageSeconds,
          stale: true,
          ...(failure.refused ? { breakerOpen: true } : {}),
        },
        failure.refused
          ? `provider breaker open after ${errorType} — serving stale value, age ${ageSeconds}s`
          : `provider error ${errorType} — serving stale value, age ${ageSeconds}s`,
      );
      if (!firstInOutage) return;
      const { stack: _stack, ...info } = toErrorInfo(error);
      publish('secrets.stale-served', {
        name,
        ageSeconds,
        at: at(),
        source,
        provider,
        error: { ...info, type: errorType, ...(failure.refused ? { message: failure.message } : {}) },
      });
    },
    slowProvider({ name, ageSeconds, waitedMs }) {
      metrics.staleServed.inc({ name });
      log.warn(
        { secretName: name, provider, ageSeconds, waitedMs, stale: true },
        `provider slow (no answer within ${waitedMs}ms) — serving stale value, age ${ageSeconds}s`,
      );
    },
    recovered({ name, downForSeconds }) {
      log.info({ secretName: name, provider, downForSeconds }, `provider answers again — ${name} refreshed`);
      publish('secrets.refreshed', { names: [name], at: at(), provider, recovered: true, downForSeconds });
    },
    providerCall({ ms, ok }) {
      metrics.providerSeconds.observe({ provider, result: ok ? 'ok' : 'error' }, ms / 1000);
    },
    stored(name, secret) {
      metrics.cacheAge.set({ name }, 0);
      deps.onStored?.(name, secret);
    },
  };
}
