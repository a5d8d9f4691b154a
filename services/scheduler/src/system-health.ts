import {
  type JobsFileStatus,
  jobsFileProblem,
  type ServiceReadiness,
  serviceReadiness,
  VIGIL_SERVICES,
} from '@vigil/shared';
import type { NatsConnection } from 'nats';
import { type BreakerTracker, type BreakerView, liveOpenBreakers } from './breakers.js';
import type { SchedulerContext } from './context.js';
import { type Coverage, type FailureRate, failingNow, failureRate, todaysCoverage } from './coverage.js';

export interface SystemHealth {
  ok: boolean;
  /** Why `ok` is false, one line each (empty when ok). */
  problems: string[];
  time: string;
  services: ServiceReadiness[];
  coverage: Coverage[];
  failureRates: FailureRate[];
  /** Breakers not closed on the instances that answered (see liveOpenBreakers). */
  openBreakers: BreakerView[];
  dlqDepth: number | null;
  /**
   * The scheduler's jobs file: the version in use and, while the file on disk is invalid, its rejection (a problem:
   * the jobs run as before the edit, not as the file says). Readiness is not affected: the old jobs run fine.
   */
  jobsFile?: JobsFileStatus;
}

/** Everything an operator wants on one page: readiness, today's coverage, failure rates, breakers, DLQ. */
export async function systemHealth(
  ctx: SchedulerContext,
  nc: NatsConnection,
  /** Breaker events: only for instances of a version whose health answer lists no breakers. */
  breakers: BreakerTracker,
  timeoutMs = 1_000,
): Promise<SystemHealth> {
  const now = ctx.clock.now();
  const runs = [...ctx.runs.values.values()];
  const jobs = Object.values(ctx.jobs().jobs);
  const [services, dlqDepth] = await Promise.all([
    Promise.all(VIGIL_SERVICES.map((s) => serviceReadiness(nc, s, timeoutMs))),
    ctx.bus.dlqDepth().catch(() => null),
  ]);
  const coverage = jobs
    .filter((j) => j.targets !== undefined || j.handler === 'report.daily')
    .map((j) => todaysCoverage(j, runs, now));
  const failureRates = jobs.map((j) => failureRate(j.name, runs, now));
  // from the live instances' answers: a half-open breaker of a process that was replaced is no problem any more
  const openBreakers = liveOpenBreakers(services, breakers);
  const problems: string[] = [];
  const jobsFile = ctx.jobsFile?.();
  const rejectedEdit = jobsFile && jobsFileProblem(jobsFile);
  if (rejectedEdit) problems.push(rejectedEdit);
  for (const s of services) if (!s.ready) problems.push(`${s.service} not ready${s.error ? `: ${s.error}` : ''}`);
  // seed 003: a daily report that ran but left targets without a success is the silent gap this page exists for.
  for (const c of coverage) {
    if (c.ranToday && c.ratio !== null && c.ratio < 1)
      problems.push(`${c.job}: ${c.covered}/${c.total} targets covered today`);
  }
  for (const j of jobs) {
    const bad = failingNow(j.name, runs, now);
    if (bad) problems.push(`${j.name}: last run ${bad.status} (${bad.runId})`);
  }
  for (const b of openBreakers)
    problems.push(`breaker ${b.service}/${b.name} ${b.state}${b.instance ? ` on ${b.instance}` : ''}`);
  if (dlqDepth) problems.push(`${dlqDepth} message(s) in the DLQ`);
  return {
    ok: problems.length === 0,
    problems,
    time: new Date(now).toISOString(),
    services,
    coverage,
    failureRates,
    openBreakers,
    dlqDepth,
    ...(jobsFile ? { jobsFile } : {}),
  };
}
