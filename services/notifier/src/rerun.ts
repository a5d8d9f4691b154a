import type { Alert } from './alert.js';

/** Quotes a word for a POSIX shell only when it needs it. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:@=+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * A phrase for a POSIX shell: double-quoted (easy to read and edit) when nothing in it is special inside double
 * quotes, single-quoted otherwise. The run id in a reason comes from whoever published the event: pasted from an
 * email, `$(…)` or a backtick in it must stay text.
 */
export function shellPhrase(text: string): string {
  return /^[^"$`\\!\n\r]*$/.test(text) ? `"${text}"` : shellQuote(text);
}

const VERB: Partial<Record<Alert['kind'], string>> = {
  failed: 'failed',
  partial: 'partially failed',
  missed: 'was missed',
  stuck: 'was stuck',
};

export interface RerunCommands {
  cli: string;
  curl: string;
  reason: string;
  targets: string[];
}

/**
 * The exact commands that re-run what failed: only the failed targets of a partial run, the whole job otherwise.
 * Undefined when the alert is not about a job run.
 */
export function rerunCommands(alert: Alert, publicUrl: string): RerunCommands | undefined {
  if (!alert.job || alert.resolved || !VERB[alert.kind]) return undefined;
  const runRef = alert.run?.runId ?? alert.eventId;
  const reason = `re-run after ${runRef} ${VERB[alert.kind]}`;
  const targets = alert.kind === 'partial' ? (alert.failures ?? []).map((f) => f.target) : [];
  const cli = [
    'vigil trigger',
    shellQuote(alert.job),
    ...targets.map((t) => `--target ${shellQuote(t)}`),
    `--reason ${shellPhrase(reason)}`,
  ].join(' ');
  const body = JSON.stringify(targets.length ? { reason, targets } : { reason });
  const base = publicUrl.replace(/\/+$/, '');
  const curl =
    `curl -X POST -H "Authorization: Bearer $VIGIL_API_TOKEN" -H "Content-Type: application/json" ` +
    `${base}/api/jobs/${encodeURIComponent(alert.job)}/trigger -d ${shellQuote(body)}`;
  return { cli, curl, reason, targets };
}

/** Link to the run in the scheduler API, when the alert has a run. */
export function runLink(alert: Alert, publicUrl: string): string | undefined {
  if (!alert.run?.runId) return undefined;
  return `${publicUrl.replace(/\/+$/, '')}/api/runs/${encodeURIComponent(alert.run.runId)}`;
}
