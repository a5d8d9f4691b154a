import type { NatsConnection } from 'nats';
import type { BreakerTracker, BreakerView } from './breakers.js';
import type { SchedulerContext } from './context.js';
import { type Coverage, type FailureRate, failureRate, todaysCoverage } from './coverage.js';

export const SERVICES = ['scheduler', 'reports', 'notifier', 'secrets', 'webhooks'] as const;

export interface ServiceReadiness {
  service: string;
  ready: boolean;
  instances: number;
  checks?: unknown;
  error?: string;
}

export interface SystemHealth {
  ok: boolean;
  time: string;
  services: ServiceReadiness[];
  coverage: Coverage[];
  failureRates: FailureRate[];
  openBreakers: BreakerView[];
  dlqDepth: number | null;
}

const decoder = new TextDecoder();

/** Asks `vigil.health.<name>`; no answer within the timeout means not ready. */
async function readiness(nc: NatsConnection, service: string, timeoutMs: number): Promise<ServiceReadiness> {
  try {
    const msg = await nc.request(`vigil.health.${service}`, undefined, { timeout: timeoutMs });
    const body = JSON.parse(decoder.decode(msg.data)) as { ready?: boolean; checks?: unknown };
    return { service, ready: body.ready === true, instances: 1, checks: body.checks };
  } catch (err) {
    return { service, ready: false, instances: 0, error: (err as Error).message || 'no answer' };
  }
}

/** Everything an operator wants on one page: readiness, today's coverage, failure rates, breakers, DLQ. */
export async function systemHealth(
  ctx: SchedulerContext,
  nc: NatsConnection,
  breakers: BreakerTracker,
  timeoutMs = 1_000,
): Promise<SystemHealth> {
  const now = ctx.clock.now();
  const runs = [...ctx.runs.values.values()];
  const jobs = Object.values(ctx.jobs().jobs);
  const [services, dlqDepth] = await Promise.all([
    Promise.all(SERVICES.map((s) => readiness(nc, s, timeoutMs))),
    ctx.bus.dlqDepth().catch(() => null),
  ]);
  const coverage = jobs
    .filter((j) => j.targets !== undefined || j.handler === 'report.daily')
    .map((j) => todaysCoverage(j, runs, now));
  const failureRates = jobs.map((j) => failureRate(j.name, runs, now));
  const openBreakers = breakers.open();
  const ok = services.every((s) => s.ready) && openBreakers.length === 0 && !dlqDepth;
  return { ok, time: new Date(now).toISOString(), services, coverage, failureRates, openBreakers, dlqDepth };
}
