import { type DeadlineDefaults, DEFAULT_DEADLINES, isOverdue, type JobDefinition, type JobRun } from '@vigil/shared';

export interface SecretHealth {
  name: string;
  stale: boolean;
  ageSeconds?: number;
  /** The secret could not be had at all (nothing to serve). */
  error?: string;
  /** Why a value served stale is stale: the provider's last failure for it. */
  cause?: string;
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
  /**
   * The deadlines of jobs that set no `startDeadline` / `timeout`: the service's `SCHEDULER_START_DEADLINE` and
   * `SCHEDULER_DEFAULT_TIMEOUT`, the same variables the scheduler enforces (default 2m and 1h).
   */
  deadlines?: DeadlineDefaults;
}

/**
 * How the runs of a window split up. `counted` (succeeded + partial + failed + missed + stuck) is the success
 * rate's denominator; runs in progress (`running`), `cancelled` and `skipped` ones are not in it, so
 * `runs = counted + running + cancelled + skipped`.
 */
export interface RunCounts {
  runs: number;
  counted: number;
  succeeded: number;
  partial: number;
  failed: number;
  missed: number;
  stuck: number;
  /** Requested or started, within their deadlines: no outcome yet. */
  running: number;
  /**
   * Of `missed` / `stuck`: runs still recorded as requested / started although past their start deadline / timeout
   * (the scheduler's watchdog gave no verdict: was it down?), counted as it would have: missed or stuck.
   */
  overdueMissed: number;
  overdueStuck: number;
  cancelled: number;
  skipped: number;
}

export interface JobHealth extends RunCounts {
  job: string;
  /** succeeded / counted: 0..1, or undefined when no run has an outcome yet. */
  successRate?: number;
  expected: string[];
  covered: string[];
  missing: string[];
  /** Mean minutes from the first bad run of a streak to the next success. */
  mttrMinutes?: number;
  failingSince?: string;
  /** The most frequent error (same type, class and message but for numbers and ids), and how many runs failed otherwise. */
  topError?: { type: string; message: string; class: string; count: number; otherErrors: number };
  /** The job has a `backup:` block (its recommendations do not suggest adding one). */
  hasBackup?: boolean;
}

export interface HealthReport {
  from: string;
  to: string;
  jobs: JobHealth[];
  coverage: number;
  /** totals.succeeded / totals.counted (1 when nothing was counted). */
  successRate: number;
  /** All jobs' runs added up. */
  totals: RunCounts;
  mttrMinutes?: number;
  openBreakers: { service: string; name: string }[];
  /** Messages in VIGIL_DLQ; undefined when it could not be read (never reported as 0). */
  dlqDepth: number | undefined;
  staleSecrets: SecretHealth[];
  /** Services not ready (or not running) when the report was made. */
  unhealthyComponents: ComponentHealth[];
  /**
   * Jobs no longer in the jobs file whose runs in the window did not all succeed: told for information only. They
   * are not judged (coverage, success rate, severity, recommendations): nothing can run them any more, and the
   * scheduler's `vigil health` leaves them out too.
   */
  removedJobs: RemovedJob[];
}

/** A job with runs in the window that is no longer in the jobs file. */
export interface RemovedJob {
  job: string;
  runs: number;
  /** Runs recorded as failed, partial, missed or stuck. */
  bad: number;
}

/** Runs with an outcome: the success rate counts these (stuck and missed ones as not succeeded). */
const COUNTED = new Set(['succeeded', 'partial', 'failed', 'missed', 'stuck']);
/** No outcome yet: left out of the success rate while within their deadlines. */
const IN_FLIGHT = new Set(['requested', 'started']);
/** Recorded outcomes that are not a success. */
const BAD = new Set(['partial', 'failed', 'missed', 'stuck']);
const WHOLE_JOB = '(job)';
const COUNT_KEYS = [
  'runs',
  'counted',
  'succeeded',
  'partial',
  'failed',
  'missed',
  'stuck',
  'running',
  'overdueMissed',
  'overdueStuck',
  'cancelled',
  'skipped',
] as const;

function at(run: JobRun): number {
  return Date.parse(run.finishedAt ?? run.startedAt ?? run.scheduledAt);
}

/**
 * The status the run has for the report: its recorded one, except that a run still recorded as requested/started
 * past its deadline is what the scheduler's watchdog says of it (shared `isOverdue`, the scheduler's own rule):
 * missed when it never started within its start deadline, stuck when it runs past its timeout.
 */
function statusAt(
  run: JobRun,
  def: JobDefinition | undefined,
  input: HealthInput,
): { status: string; overdue: boolean } {
  if (!IN_FLIGHT.has(run.status)) return { status: run.status, overdue: false };
  // the request time is in the scheduler's record (not in the contract's minimum): a later request moves the start deadline
  const requestedAt = typeof run.requestedAt === 'string' ? run.requestedAt : undefined;
  if (!isOverdue({ ...run, requestedAt }, def, input.deadlines ?? DEFAULT_DEADLINES, input.now)) {
    return { status: run.status, overdue: false };
  }
  return { status: run.status === 'requested' && !run.startedAt ? 'missed' : 'stuck', overdue: true };
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
  const judged = runs.map((r) => {
    const { status, overdue } = statusAt(r, def, input);
    return { run: status === r.status ? r : { ...r, status: status as JobRun['status'] }, overdue };
  });
  const sorted = judged.map((j) => j.run).sort((a, b) => at(a) - at(b));
  const count = (s: string) => sorted.filter((r) => r.status === s).length;
  const finished = sorted.filter((r) => COUNTED.has(r.status));
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
  let errorCount = 0;
  for (const r of finished) {
    if (!r.error) continue;
    errorCount++;
    // by what went wrong, not only its class: "ECONNREFUSED" and "timed out" are both TransientError
    const key = `${r.error.type}|${r.error.class}|${messageShape(r.error.message)}`;
    const e = errors.get(key) ?? { type: r.error.type, message: r.error.message, class: r.error.class, count: 0 };
    e.count++;
    errors.set(key, e);
  }
  const most = [...errors.values()].sort((a, b) => b.count - a.count)[0];
  const top = most && { ...most, otherErrors: errorCount - most.count };
  const succeeded = count('succeeded');
  return {
    job,
    runs: sorted.length,
    counted: finished.length,
    succeeded,
    partial: count('partial'),
    failed: count('failed'),
    missed: count('missed'),
    stuck: count('stuck'),
    running: sorted.filter((r) => IN_FLIGHT.has(r.status)).length,
    overdueMissed: judged.filter((j) => j.overdue && j.run.status === 'missed').length,
    overdueStuck: judged.filter((j) => j.overdue && j.run.status === 'stuck').length,
    cancelled: count('cancelled'),
    skipped: count('skipped'),
    successRate: finished.length > 0 ? succeeded / finished.length : undefined,
    expected,
    covered: expected.filter((t) => covered.has(t)),
    missing: expected.filter((t) => !covered.has(t)),
    mttrMinutes: recoveries.length > 0 ? recoveries.reduce((a, b) => a + b, 0) / recoveries.length / 60_000 : undefined,
    failingSince: badSince !== undefined ? new Date(badSince).toISOString() : undefined,
    topError: top,
    ...(def?.backup ? { hasBackup: true } : {}),
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
  // Only the jobs of the current jobs file are judged: a removed job's old failures are not a coverage gap or a
  // failure streak anyone can act on (`vigil trigger <removed>` answers "no job named …").
  const jobs = [...defs.keys()]
    .sort()
    .map((n) => analyseJob(n, defs.get(n), byJob.get(n) ?? [], input))
    .filter((j) => j.expected.length > 0 || j.runs > 0);
  const removedJobs = [...byJob.entries()]
    .filter(([n]) => !defs.has(n))
    .map(([job, runs]) => ({ job, runs: runs.length, bad: runs.filter((r) => BAD.has(r.status)).length }))
    .filter((r) => r.bad > 0)
    .sort((a, b) => a.job.localeCompare(b.job));
  const expected = jobs.reduce((a, j) => a + j.expected.length, 0);
  const covered = jobs.reduce((a, j) => a + j.covered.length, 0);
  const totals = {} as RunCounts;
  for (const k of COUNT_KEYS) totals[k] = jobs.reduce((a, j) => a + j[k], 0);
  const mttrs = jobs.map((j) => j.mttrMinutes).filter((m): m is number => m !== undefined);
  return {
    from: new Date(from).toISOString(),
    to: new Date(input.now).toISOString(),
    jobs,
    coverage: expected === 0 ? 1 : covered / expected,
    successRate: totals.counted === 0 ? 1 : totals.succeeded / totals.counted,
    totals,
    mttrMinutes: mttrs.length > 0 ? mttrs.reduce((a, b) => a + b, 0) / mttrs.length : undefined,
    openBreakers: input.openBreakers,
    dlqDepth: input.dlqDepth,
    staleSecrets: input.secrets.filter((s) => s.stale || s.error),
    unhealthyComponents: (input.components ?? []).filter((c) => !c.ready),
    removedJobs,
  };
}

/** A message with what varies between runs of one failure (run ids, numbers, durations) taken out. */
function messageShape(message: string): string {
  return message.replace(/\b[0-9A-HJKMNP-TV-Z]{26}\b/g, '<id>').replace(/\d+(?:\.\d+)?/g, '#');
}
