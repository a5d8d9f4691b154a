import type { JobDefinition, JobRun } from '@vigil/shared';

export interface SecretHealth {
  name: string;
  stale: boolean;
  ageSeconds?: number;
  error?: string;
}

/** One Vigil service as its instances answered `vigil.health.<name>.each`. */
export interface ComponentHealth {
  service: string;
  ready: boolean;
  instances: number;
  /** Readiness checks that fail (redis, smtp, nats…). */
  failing: string[];
  error?: string;
}

export interface HealthInput {
  now: number;
  windowMs: number;
  runs: JobRun[];
  jobs: JobDefinition[];
  /** Resolved target lists for jobs whose targets live in a secret. */
  targetsOf?: Record<string, string[]>;
  openBreakers: { service: string; name: string }[];
  /** Messages in VIGIL_DLQ; undefined when it could not be read (never reported as 0). */
  dlqDepth: number | undefined;
  secrets: SecretHealth[];
  /** Seed 003: "validates system component health (DB, Redis, etc.)". */
  components?: ComponentHealth[];
}

export interface JobHealth {
  job: string;
  runs: number;
  succeeded: number;
  partial: number;
  failed: number;
  missed: number;
  stuck: number;
  /** 0..1, or undefined when nothing finished. */
  successRate?: number;
  expected: string[];
  covered: string[];
  missing: string[];
  /** Mean minutes from the first bad run of a streak to the next success. */
  mttrMinutes?: number;
  failingSince?: string;
  topError?: { type: string; message: string; class: string; count: number };
}

export interface HealthReport {
  from: string;
  to: string;
  jobs: JobHealth[];
  coverage: number;
  successRate: number;
  mttrMinutes?: number;
  openBreakers: { service: string; name: string }[];
  /** Messages in VIGIL_DLQ; undefined when it could not be read (never reported as 0). */
  dlqDepth: number | undefined;
  staleSecrets: SecretHealth[];
  /** Services not ready (or not running) when the report was made. */
  unhealthyComponents: ComponentHealth[];
}

const FINISHED = new Set(['succeeded', 'partial', 'failed', 'missed', 'stuck']);
const WHOLE_JOB = '(job)';

function at(run: JobRun): number {
  return Date.parse(run.finishedAt ?? run.startedAt ?? run.scheduledAt);
}

function expectedTargets(def: JobDefinition, input: HealthInput): string[] {
  if (Array.isArray(def.targets)) return def.targets;
  return input.targetsOf?.[def.name] ?? [];
}

/** Targets a run delivered: all it covered minus the failed ones (failed runs deliver none). */
function deliveredBy(run: JobRun, all: string[]): string[] {
  if (run.status === 'succeeded') return run.targets ?? (all.length > 0 ? all : [WHOLE_JOB]);
  if (run.status !== 'partial') return [];
  const failed = new Set((run.failures ?? []).map((f) => f.target));
  return (run.targets ?? all).filter((t) => !failed.has(t));
}

function analyseJob(job: string, def: JobDefinition | undefined, runs: JobRun[], input: HealthInput): JobHealth {
  const sorted = [...runs].sort((a, b) => at(a) - at(b));
  const count = (s: string) => sorted.filter((r) => r.status === s).length;
  const finished = sorted.filter((r) => FINISHED.has(r.status));
  const targets = def ? expectedTargets(def, input) : [];
  const scheduled = def ? def.schedule !== undefined || def.every !== undefined : false;
  const expected = targets.length > 0 ? targets : scheduled || sorted.length > 0 ? [WHOLE_JOB] : [];
  const covered = new Set<string>();
  for (const r of sorted) for (const t of deliveredBy(r, targets)) covered.add(targets.length > 0 ? t : WHOLE_JOB);
  const recoveries: number[] = [];
  let badSince: number | undefined;
  for (const r of finished) {
    if (r.status === 'succeeded') {
      if (badSince !== undefined) recoveries.push(at(r) - badSince);
      badSince = undefined;
    } else if (badSince === undefined) badSince = at(r);
  }
  const errors = new Map<string, { type: string; message: string; class: string; count: number }>();
  for (const r of finished) {
    if (!r.error) continue;
    const key = `${r.error.type}|${r.error.class}`;
    const e = errors.get(key) ?? { type: r.error.type, message: r.error.message, class: r.error.class, count: 0 };
    e.count++;
    errors.set(key, e);
  }
  const top = [...errors.values()].sort((a, b) => b.count - a.count)[0];
  const succeeded = count('succeeded');
  return {
    job,
    runs: sorted.length,
    succeeded,
    partial: count('partial'),
    failed: count('failed'),
    missed: count('missed'),
    stuck: count('stuck'),
    successRate: finished.length > 0 ? succeeded / finished.length : undefined,
    expected,
    covered: expected.filter((t) => covered.has(t)),
    missing: expected.filter((t) => !covered.has(t)),
    mttrMinutes: recoveries.length > 0 ? recoveries.reduce((a, b) => a + b, 0) / recoveries.length / 60_000 : undefined,
    failingSince: badSince !== undefined ? new Date(badSince).toISOString() : undefined,
    topError: top,
  };
}

/** Seed 003's daily health check over the last window of runs: coverage, success, recovery, plumbing. */
export function analyseHealth(input: HealthInput): HealthReport {
  const from = input.now - input.windowMs;
  const latest = new Map<string, JobRun>();
  for (const r of input.runs) {
    const t = at(r);
    if (Number.isNaN(t) || t < from || t > input.now + 60_000) continue;
    latest.set(r.runId, r);
  }
  const byJob = new Map<string, JobRun[]>();
  for (const r of latest.values()) byJob.set(r.job, [...(byJob.get(r.job) ?? []), r]);
  const defs = new Map(input.jobs.map((j) => [j.name, j]));
  const names = [...new Set([...defs.keys(), ...byJob.keys()])].sort();
  const jobs = names
    .map((n) => analyseJob(n, defs.get(n), byJob.get(n) ?? [], input))
    .filter((j) => j.expected.length > 0 || j.runs > 0);
  const expected = jobs.reduce((a, j) => a + j.expected.length, 0);
  const covered = jobs.reduce((a, j) => a + j.covered.length, 0);
  const finished = jobs.reduce((a, j) => a + j.succeeded + j.partial + j.failed + j.missed + j.stuck, 0);
  const succeeded = jobs.reduce((a, j) => a + j.succeeded, 0);
  const mttrs = jobs.map((j) => j.mttrMinutes).filter((m): m is number => m !== undefined);
  return {
    from: new Date(from).toISOString(),
    to: new Date(input.now).toISOString(),
    jobs,
    coverage: expected === 0 ? 1 : covered / expected,
    successRate: finished === 0 ? 1 : succeeded / finished,
    mttrMinutes: mttrs.length > 0 ? mttrs.reduce((a, b) => a + b, 0) / mttrs.length : undefined,
    openBreakers: input.openBreakers,
    dlqDepth: input.dlqDepth,
    staleSecrets: input.secrets.filter((s) => s.stale || s.error),
    unhealthyComponents: (input.components ?? []).filter((c) => !c.ready),
  };
}
