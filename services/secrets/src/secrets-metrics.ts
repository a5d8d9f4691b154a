import { vigilMetrics } from '@vigil/shared';
import { Histogram, type Registry } from 'prom-client';

/** The contract's secrets metrics plus the provider latency histogram. */
export function secretsMetrics(registry: Registry) {
  const shared = vigilMetrics(registry);
  const existing = registry.getSingleMetric('vigil_secrets_provider_seconds') as
    | Histogram<'provider' | 'result'>
    | undefined;
  const providerSeconds =
    existing ??
    new Histogram({
      name: 'vigil_secrets_provider_seconds',
      help: 'Latency of secrets provider calls by result',
      labelNames: ['provider', 'result'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
  return { cacheAge: shared.secretsCacheAge, staleServed: shared.secretsStaleServedTotal, providerSeconds };
}

export type SecretsMetrics = ReturnType<typeof secretsMetrics>;
