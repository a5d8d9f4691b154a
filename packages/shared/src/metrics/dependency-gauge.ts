import { Gauge, type Registry } from 'prom-client';
import type { Readiness } from '../http/index.js';

/**
 * `vigil_dependency_up{check}`: 1 while a readiness check (nats, redis, smtp…) passes, 0 while it fails, evaluated
 * at scrape time. A readiness probe only takes a pod out of rotation; this lets an alert say that Redis (or SMTP,
 * or NATS) has been unreachable for minutes, wherever the service runs.
 */
export function dependencyGauge(registry: Registry, readiness: Readiness): Gauge<'check'> {
  return new Gauge({
    name: 'vigil_dependency_up',
    help: '1 when the readiness check of a dependency passes, 0 when it fails (evaluated at scrape time)',
    labelNames: ['check'] as const,
    registers: [registry],
    async collect() {
      const report = await readiness.evaluate();
      this.reset();
      for (const [check, result] of Object.entries(report.checks)) this.set({ check }, result.ok ? 1 : 0);
    },
  });
}
