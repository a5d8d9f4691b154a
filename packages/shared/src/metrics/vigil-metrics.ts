import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

function build(registry: Registry) {
  const reg = [registry];
  return {
    jobRunsTotal: new Counter({
      name: 'vigil_job_runs_total',
      help: 'Job runs by final status',
      labelNames: ['job', 'trigger', 'status'] as const,
      registers: reg,
    }),
    jobDurationSeconds: new Histogram({
      name: 'vigil_job_duration_seconds',
      help: 'Job run duration',
      labelNames: ['job'] as const,
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
      registers: reg,
    }),
    jobLastSuccess: new Gauge({
      name: 'vigil_job_last_success_timestamp_seconds',
      help: 'Unix time of the last successful run of a job',
      labelNames: ['job'] as const,
      registers: reg,
    }),
    jobExpectedInterval: new Gauge({
      name: 'vigil_job_expected_interval_seconds',
      help: 'Longest gap between two scheduled slots of a job (absent for manual-only jobs): how long a success may take to come',
      labelNames: ['job'] as const,
      registers: reg,
    }),
    eventsPublishedTotal: new Counter({
      name: 'vigil_events_published_total',
      help: 'Events published to NATS',
      labelNames: ['subject'] as const,
      registers: reg,
    }),
    eventsHandledTotal: new Counter({
      name: 'vigil_events_handled_total',
      help: 'Events handled by consumers, by result (ok, retry, deferred, dlq)',
      labelNames: ['subject', 'result'] as const,
      registers: reg,
    }),
    dlqMessagesTotal: new Counter({
      name: 'vigil_dlq_messages_total',
      help: 'Messages sent to the dead-letter stream',
      labelNames: ['subject'] as const,
      registers: reg,
    }),
    breakerState: new Gauge({
      name: 'vigil_breaker_state',
      help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open',
      labelNames: ['service', 'name'] as const,
      registers: reg,
    }),
    secretsCacheAge: new Gauge({
      name: 'vigil_secrets_cache_age_seconds',
      help: 'Age of the cached value of a secret',
      labelNames: ['name'] as const,
      registers: reg,
    }),
    secretsStaleServedTotal: new Counter({
      name: 'vigil_secrets_stale_served_total',
      help: 'Stale secret values served during provider errors',
      labelNames: ['name'] as const,
      registers: reg,
    }),
    webhookDeliveriesTotal: new Counter({
      name: 'vigil_webhook_deliveries_total',
      help: 'Webhook delivery attempts by result',
      labelNames: ['result'] as const,
      registers: reg,
    }),
    webhookDeliverySeconds: new Histogram({
      name: 'vigil_webhook_delivery_seconds',
      help: 'Webhook delivery attempt duration',
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: reg,
    }),
    notificationsTotal: new Counter({
      name: 'vigil_notifications_total',
      help: 'Notifications by channel, severity and result',
      labelNames: ['channel', 'severity', 'result'] as const,
      registers: reg,
    }),
  };
}

export type VigilMetrics = ReturnType<typeof build>;

const cache = new WeakMap<Registry, VigilMetrics>();

/** Every contract metric on one registry, created once per registry (one registry per service instance). */
export function vigilMetrics(registry: Registry): VigilMetrics {
  let m = cache.get(registry);
  if (!m) {
    m = build(registry);
    cache.set(registry, m);
  }
  return m;
}

/** A fresh registry with prom-client's default process metrics. */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
