import type { HealthReport, RunCounts } from './health-analysis.js';

export type HealthSeverity = 'INFO' | 'WARNING' | 'CRITICAL';

export const COVERAGE_TARGET = 1;
export const SUCCESS_TARGET = 0.95;
export const MTTR_TARGET_MINUTES = 30;

const pct = (x: number) => `${(x * 100).toFixed(1).replace(/\.0$/, '')}%`;

/** Why the report has its severity, in a few words for the title (`secrets not running`, `DLQ 1`). */
export interface HealthReason {
  severity: Exclude<HealthSeverity, 'INFO'>;
  text: string;
  /**
   * Already told by the coverage / success figures the title carries (a target not covered lowers the coverage;
   * a low success rate of a job shows in the overall one once that is under 95% too).
   */
  inFigures: boolean;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * Concrete next steps, most urgent first: each names the job/target and the command that fixes it.
 * CRITICAL when a target got no successful run (someone missed their report), nothing ran or a service is not
 * running; WARNING when the success rate is under 95% or the plumbing (breakers, DLQ, secrets) needs attention;
 * INFO otherwise. `reasons` say in a few words what raised the severity, the most severe first.
 */
export function recommend(
  report: HealthReport,
  /** How the commands it names call the CLI (ALERT_CLI: `vigil`, `npx vigil`). */
  cli = 'vigil',
): {
  severity: HealthSeverity;
  recommendations: string[];
  reasons: HealthReason[];
} {
  const recs: string[] = [];
  const reasons: HealthReason[] = [];
  let severity: HealthSeverity = 'INFO';
  const raise = (s: Exclude<HealthSeverity, 'INFO'>, text: string, inFigures = false) => {
    if (s === 'CRITICAL' || severity === 'INFO') severity = s;
    reasons.push({ severity: s, text, inFigures });
  };
  for (const j of report.jobs) {
    if (j.missing.length > 0) {
      const whole = j.missing.length === 1 && j.missing[0] === '(job)';
      raise('CRITICAL', whole ? `${j.job} not covered` : `${j.job}: ${j.missing.join(', ')} not covered`, true);
      const targets = whole ? '' : ` ${j.missing.map((t) => `--target ${t}`).join(' ')}`;
      recs.push(
        `${j.job}: ${whole ? 'no successful run' : `no successful report for ${j.missing.join(', ')}`} in the last 24 h — run \`${cli} trigger ${j.job}${targets} --reason "health.daily backfill"\``,
      );
    }
  }
  for (const j of report.jobs) {
    if (j.successRate !== undefined && j.successRate < SUCCESS_TARGET) {
      raise('WARNING', `${j.job} success ${pct(j.successRate)}`, report.successRate < SUCCESS_TARGET);
      const err = j.topError
        ? ` — most frequent error: ${j.topError.type} (${j.topError.class}, ${j.topError.count}×): ${j.topError.message}${j.topError.otherErrors > 0 ? ` (+${plural(j.topError.otherErrors, 'run')} with other errors: \`${cli} runs --job ${j.job} --status failed\`)` : ''}`
        : '';
      const hint =
        j.topError?.class === 'validation'
          ? '; fix the job configuration in jobs.yaml (validation errors are never retried)'
          : j.topError?.class === 'transient'
            ? `; the dependency is flaky: check its breaker and consider more retries${j.hasBackup ? ' or an earlier backup' : ' or `backup: { after: 1h }`'}`
            : '';
      recs.push(
        `${j.job}: success rate ${pct(j.successRate)} (${j.succeeded}/${j.counted} runs succeeded${j.running > 0 ? `; ${j.running} in progress, not counted` : ''}) is below 95%${err}${hint}`,
      );
    }
    if (j.missed > 0) {
      raise('WARNING', `${j.job}: ${j.missed} missed`);
      recs.push(
        `${j.job}: ${plural(j.missed, 'missed run')} (not started within the start deadline${unmarked(j.overdueMissed, 'requested')}) — were the scheduler and the runners (reports) up and NATS reachable? see the reasons in \`${cli} runs --job ${j.job} --status missed\` and check \`${cli} health\``,
      );
    }
    if (j.stuck > 0) {
      raise('WARNING', `${j.job}: ${j.stuck} stuck`);
      recs.push(
        `${j.job}: ${plural(j.stuck, 'stuck run')} (still running past the timeout${unmarked(j.overdueStuck, 'started')}) — raise \`timeout\` or find what hangs`,
      );
    }
    if (j.failingSince) {
      raise('WARNING', `${j.job} still failing`);
      recs.push(`${j.job}: failing since ${j.failingSince} with no recovery yet — see \`${cli} runs --job ${j.job}\``);
    }
    if (j.mttrMinutes !== undefined && j.mttrMinutes > MTTR_TARGET_MINUTES) {
      raise('WARNING', `${j.job} mean recovery ${j.mttrMinutes.toFixed(0)} min`);
      recs.push(
        `${j.job}: mean time to recover ${j.mttrMinutes.toFixed(0)} min exceeds ${MTTR_TARGET_MINUTES} min — ${j.hasBackup ? 'make its backup come sooner (a shorter `backup.after`)' : 'add `backup: { after: 30m }`'} or alert recipients`,
      );
    }
  }
  for (const b of report.openBreakers) {
    raise('WARNING', `breaker ${b.service}/${b.name} open`);
    recs.push(
      `breaker ${b.service}/${b.name} is open: its dependency is failing — calls are skipped until it recovers`,
    );
  }
  if (report.dlqDepth === undefined) {
    raise('WARNING', 'DLQ unreadable');
    recs.push(
      `the dead-letter queue (VIGIL_DLQ) could not be read, so failed messages may be waiting unseen — check NATS and run \`${cli} dlq list\``,
    );
  } else if (report.dlqDepth > 0) {
    raise('WARNING', `DLQ ${report.dlqDepth}`);
    recs.push(
      `${report.dlqDepth} message(s) in the dead-letter queue — inspect with \`${cli} dlq list\`, replay with \`${cli} dlq replay <seq>\``,
    );
  }
  for (const s of report.staleSecrets) {
    raise('WARNING', `secret ${s.name} ${s.error ? 'unavailable' : 'stale'}`);
    recs.push(
      s.error
        ? `secret ${s.name} is unavailable (${s.error}) — check \`${cli} secrets status\``
        : `secret ${s.name} is served stale (age ${Math.round(s.ageSeconds ?? 0)} s): the provider is failing${s.cause ? ` (${s.cause})` : ''} — check \`${cli} secrets status\``,
    );
  }
  for (const c of report.unhealthyComponents) {
    // A service that is not running at all cannot do its part (runs, alerts, secrets, webhooks): critical. One that
    // is there but did not answer in time (a dependency check hanging, an overloaded instance) is not "down".
    const silent = c.instances === 0 && /^no answer within/.test(c.error ?? '');
    if (c.instances === 0 && !silent) raise('CRITICAL', `${c.service} not running`);
    else raise('WARNING', silent ? `${c.service} not answering` : `${c.service} not ready`);
    recs.push(
      c.instances === 0
        ? silent
          ? `${c.service} did not answer its health request (${c.error}): busy, or a dependency check hanging — check \`${cli} health\` and its logs`
          : `${c.service} is not running (no instance answered) — start it; check \`${cli} health\``
        : `${c.service}: ${c.error ?? 'not ready'}${c.failing.length ? ` — failing checks: ${c.failing.join(', ')} (is that dependency up?)` : ''}`,
    );
  }
  if (report.jobs.every((j) => j.runs === 0) && report.jobs.length > 0) {
    raise('CRITICAL', 'no runs recorded');
    recs.push(`no runs were recorded in the last 24 h — is the scheduler running? check \`${cli} health\``);
  }
  if (recs.length === 0) recs.push('all jobs covered every target with a success rate of at least 95% — nothing to do');
  // the most severe first, otherwise in the order of the recommendations
  const order = { CRITICAL: 0, WARNING: 1 } as const;
  return {
    severity,
    recommendations: recs,
    reasons: reasons
      .map((r, i) => ({ r, i }))
      .sort((a, b) => order[a.r.severity] - order[b.r.severity] || a.i - b.i)
      .map(({ r }) => r),
  };
}

/** `; 1 still recorded as started, with no verdict from the scheduler` for runs the report judged itself. */
function unmarked(overdue: number, recorded: string): string {
  return overdue > 0 ? `; ${overdue} still recorded as ${recorded}, with no verdict from the scheduler` : '';
}

/** How many reasons a title names before `+N more` (the body lists them all). */
const TITLE_REASONS = 2;
const REASON_MAX = 48;

/**
 * The notification title: `Vigil daily health 2026-12-05 — secrets not running; DLQ 1 · coverage 100.0%, success
 * 100.0%`. It names what raised the severity when the coverage and success figures do not already tell it (the
 * first two, then `+N more`). The severity itself is not repeated: the notifier's subject starts with it.
 */
export function healthTitle(date: string, report: HealthReport, reasons: HealthReason[]): string {
  const shown = reasons.filter((r) => !r.inFigures).map((r) => r.text);
  const clip = (t: string) => (t.length > REASON_MAX ? `${t.slice(0, REASON_MAX - 1)}…` : t);
  const more = shown.length > TITLE_REASONS ? ` +${shown.length - TITLE_REASONS} more` : '';
  const why = shown.length > 0 ? `${shown.slice(0, TITLE_REASONS).map(clip).join('; ')}${more} · ` : '';
  return `Vigil daily health ${date} — ${why}coverage ${(report.coverage * 100).toFixed(1)}%, success ${successText(report, 1)}`;
}

/** "1 failed, 2 stuck": each count that is not 0, with what it counts. */
const nonZero = (counts: ReadonlyArray<readonly [number, string]>): string[] =>
  counts.filter(([n]) => n > 0).map(([n, what]) => `${n} ${what}`);

/**
 * `2/3 runs succeeded (67%: 1 failed) · 1 in progress (not counted)`: the fraction and the percentage count the
 * same runs (those with an outcome, stuck and missed ones included); what is left out says so.
 */
export function runsText(c: RunCounts, rate: number | undefined): string {
  const bad = nonZero([
    [c.partial, 'partial'],
    [c.failed, 'failed'],
    [c.missed, 'missed'],
    [c.stuck, 'stuck'],
  ]);
  const counted =
    c.counted > 0
      ? `${c.succeeded}/${plural(c.counted, 'run')} succeeded (${pct(rate ?? c.succeeded / c.counted)}${bad.length ? `: ${bad.join(', ')}` : ''})`
      : 'no run with an outcome yet';
  const left = nonZero([
    [c.running, 'in progress'],
    [c.cancelled, 'cancelled'],
    [c.skipped, 'skipped'],
  ]);
  return left.length > 0 ? `${counted} · ${left.join(', ')} (not counted)` : counted;
}

/** `2/3 targets covered (missing: c)`, or `covered` / `not covered` for a job without targets. */
function coverageText(j: HealthReport['jobs'][number]): string {
  if (j.expected.length === 1 && j.expected[0] === '(job)') {
    return j.missing.length > 0 ? 'not covered (no successful run)' : 'covered';
  }
  const missing = j.missing.length > 0 ? ` (missing: ${j.missing.join(', ')})` : '';
  return `${j.covered.length}/${plural(j.expected.length, 'target')} covered${missing}`;
}

/** The success rate as a percentage, or `n/a` when no run has an outcome (the report's figure is then 1). */
export function successText(report: HealthReport, digits?: number): string {
  if (report.totals.counted === 0) return 'n/a';
  return digits === undefined ? pct(report.successRate) : `${(report.successRate * 100).toFixed(digits)}%`;
}

/** The notification body: numbers first, then what to do. */
export function formatHealth(report: HealthReport, recommendations: string[]): string {
  const lines = [
    `Vigil daily health: runs from ${readableTime(report.from)} to ${readableTime(report.to)}`,
    `coverage ${pct(report.coverage)} · success rate ${successText(report)}${report.mttrMinutes !== undefined ? ` · mean time to recover ${report.mttrMinutes.toFixed(1)} min` : ''}`,
    `all jobs: ${runsText(report.totals, report.successRate)}`,
    `open breakers ${report.openBreakers.length} · DLQ depth ${report.dlqDepth ?? 'unknown'} · stale secrets ${report.staleSecrets.length} · services not ready ${report.unhealthyComponents.length}`,
    '',
    ...report.jobs.map((j) => `- ${j.job}: ${coverageText(j)} · ${runsText(j, j.successRate)}`),
    ...removedText(report),
    '',
    'Recommendations:',
    ...recommendations.map((r) => `* ${r}`),
  ];
  return lines.join('\n');
}

/**
 * One line for information: jobs no longer in the jobs file that failed in the window. Not judged (no threshold,
 * no command: they cannot be run any more).
 */
function removedText(report: HealthReport): string[] {
  if (report.removedJobs.length === 0) return [];
  const each = report.removedJobs.map((r) => `${r.job} — ${r.bad} of ${plural(r.runs, 'run')} did not succeed`);
  return [`- no longer in the jobs file, not judged (for information): ${each.join('; ')}`];
}

/** "2026-12-05 07:00 UTC" from an ISO time: how a person reads a window. */
function readableTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}
