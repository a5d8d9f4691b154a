import type { HealthReport } from './health-analysis.js';

export type HealthSeverity = 'INFO' | 'WARNING' | 'CRITICAL';

export const COVERAGE_TARGET = 1;
export const SUCCESS_TARGET = 0.95;
export const MTTR_TARGET_MINUTES = 30;

const pct = (x: number) => `${(x * 100).toFixed(1).replace(/\.0$/, '')}%`;

/**
 * Concrete next steps, most urgent first: each names the job/target and the command that fixes it.
 * CRITICAL when a target got no successful run (someone missed their report), WARNING when the success
 * rate is under 95% or the plumbing (breakers, DLQ, secrets) needs attention, INFO otherwise.
 */
export function recommend(report: HealthReport): { severity: HealthSeverity; recommendations: string[] } {
  const recs: string[] = [];
  let severity: HealthSeverity = 'INFO';
  const raise = (s: HealthSeverity) => {
    if (s === 'CRITICAL' || (s === 'WARNING' && severity === 'INFO')) severity = s;
  };
  for (const j of report.jobs) {
    if (j.missing.length > 0) {
      raise('CRITICAL');
      const whole = j.missing.length === 1 && j.missing[0] === '(job)';
      const targets = whole ? '' : ` ${j.missing.map((t) => `--target ${t}`).join(' ')}`;
      recs.push(
        `${j.job}: ${whole ? 'no successful run' : `no successful report for ${j.missing.join(', ')}`} in the last 24 h — run \`vigil trigger ${j.job}${targets} --reason "health.daily backfill"\``,
      );
    }
  }
  for (const j of report.jobs) {
    if (j.successRate !== undefined && j.successRate < SUCCESS_TARGET) {
      raise('WARNING');
      const err = j.topError
        ? ` — most frequent error: ${j.topError.type} (${j.topError.class}, ${j.topError.count}×): ${j.topError.message}`
        : '';
      const hint =
        j.topError?.class === 'validation'
          ? '; fix the job configuration in jobs.yaml (validation errors are never retried)'
          : j.topError?.class === 'transient'
            ? '; the dependency is flaky: check its breaker and consider more retries or `backup: { after: 1h }`'
            : '';
      recs.push(
        `${j.job}: success rate ${pct(j.successRate)} (${j.succeeded}/${j.succeeded + j.partial + j.failed + j.missed + j.stuck}) is below 95%${err}${hint}`,
      );
    }
    if (j.missed > 0) {
      raise('WARNING');
      recs.push(`${j.job}: ${j.missed} missed run(s) — is the scheduler up? check \`vigil health\``);
    }
    if (j.stuck > 0) {
      raise('WARNING');
      recs.push(`${j.job}: ${j.stuck} stuck run(s) — raise \`timeout\` or find what hangs`);
    }
    if (j.failingSince) {
      raise('WARNING');
      recs.push(`${j.job}: failing since ${j.failingSince} with no recovery yet — see \`vigil runs --job ${j.job}\``);
    }
    if (j.mttrMinutes !== undefined && j.mttrMinutes > MTTR_TARGET_MINUTES) {
      raise('WARNING');
      recs.push(
        `${j.job}: mean time to recover ${j.mttrMinutes.toFixed(0)} min exceeds ${MTTR_TARGET_MINUTES} min — add \`backup: { after: 30m }\` or alert recipients`,
      );
    }
  }
  for (const b of report.openBreakers) {
    raise('WARNING');
    recs.push(
      `breaker ${b.service}/${b.name} is open: its dependency is failing — calls are skipped until it recovers`,
    );
  }
  if (report.dlqDepth === undefined) {
    raise('WARNING');
    recs.push(
      'the dead-letter queue (VIGIL_DLQ) could not be read, so failed messages may be waiting unseen — check NATS and run `vigil dlq list`',
    );
  } else if (report.dlqDepth > 0) {
    raise('WARNING');
    recs.push(
      `${report.dlqDepth} message(s) in the dead-letter queue — inspect with \`vigil dlq list\`, replay with \`vigil dlq replay <seq>\``,
    );
  }
  for (const s of report.staleSecrets) {
    raise('WARNING');
    recs.push(
      s.error
        ? `secret ${s.name} is unavailable (${s.error}) — check \`vigil secrets status\``
        : `secret ${s.name} is served stale (age ${Math.round(s.ageSeconds ?? 0)} s): the provider is failing — check \`vigil secrets status\``,
    );
  }
  for (const c of report.unhealthyComponents) {
    // A service that is not running at all cannot do its part (runs, alerts, secrets, webhooks): critical.
    raise(c.instances === 0 ? 'CRITICAL' : 'WARNING');
    recs.push(
      c.instances === 0
        ? `${c.service} is not running (no instance answered) — start it; check \`vigil health\``
        : `${c.service}: ${c.error ?? 'not ready'}${c.failing.length ? ` — failing checks: ${c.failing.join(', ')} (is that dependency up?)` : ''}`,
    );
  }
  if (report.jobs.every((j) => j.runs === 0) && report.jobs.length > 0) {
    raise('CRITICAL');
    recs.push('no runs were recorded in the last 24 h — is the scheduler running? check `vigil health`');
  }
  if (recs.length === 0) recs.push('all jobs covered every target with a success rate of at least 95% — nothing to do');
  return { severity, recommendations: recs };
}

/** The notification body: numbers first, then what to do. */
export function formatHealth(report: HealthReport, recommendations: string[]): string {
  const lines = [
    `Vigil daily health ${report.from} .. ${report.to}`,
    `coverage ${pct(report.coverage)} · success rate ${pct(report.successRate)}${report.mttrMinutes !== undefined ? ` · mean time to recover ${report.mttrMinutes.toFixed(1)} min` : ''}`,
    `open breakers ${report.openBreakers.length} · DLQ depth ${report.dlqDepth ?? 'unknown'} · stale secrets ${report.staleSecrets.length} · services not ready ${report.unhealthyComponents.length}`,
    '',
    ...report.jobs.map(
      (j) =>
        `- ${j.job}: ${j.covered.length}/${j.expected.length} covered, ${j.succeeded}/${j.runs} succeeded${j.successRate !== undefined ? ` (${pct(j.successRate)})` : ''}${j.missing.length ? `, missing: ${j.missing.join(', ')}` : ''}`,
    ),
    '',
    'Recommendations:',
    ...recommendations.map((r) => `* ${r}`),
  ];
  return lines.join('\n');
}
