import { shellQuote } from '@vigil/shared';
import type { Alert } from './alert.js';
import { skippedWaitedFor } from './skipped-reason.js';

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
  skipped: 'was skipped',
};

export interface RerunCommands {
  cli: string;
  curl: string;
  reason: string;
  targets: string[];
  /** When to run it at all: a missed run may still run by itself, a stuck one may still be running. */
  when?: string;
  /** Where the curl line's `$VIGIL_API_TOKEN` comes from, for this ALERT_CLI (`apiTokenHint`). */
  tokenHint: string;
}

/**
 * A missed run the scheduler never requested will not run by itself: it was down at the slot (catch-up's `scheduler
 * was down…`), or NATS was (`could not be requested before its start deadline (30s): NATS was unavailable…`, also
 * when a holder that died left the slot to another replica). Only one the scheduler did request and no runner
 * started before its start deadline (the watchdog's `not started within …`) is still queued and runs once a runner
 * takes it. A reason naming neither counts as never requested when it is not the watchdog's: a slot lost for good
 * must not be advised as "wait for it".
 */
export function missedRunNeverRequested(alert: Alert): boolean {
  if (alert.kind !== 'missed') return false;
  const reason = alert.run?.reason ?? '';
  if (/^(scheduler was down|slot missed)|could not be requested|not requested at its slot/i.test(reason)) return true;
  return !/^not started within/i.test(reason) && reason !== '';
}

function rerunCondition(alert: Alert): string | undefined {
  if (alert.kind === 'missed' && !missedRunNeverRequested(alert)) {
    return (
      'Only if you cannot wait for a runner, or no run followed once the runners were back: the missed run is still ' +
      'queued and runs by itself when a runner takes it, so this starts a second run.'
    );
  }
  if (alert.kind === 'skipped') {
    const held = skippedWaitedFor(alert.run?.reason);
    const waited = held?.runId;
    if (waited && held?.queuedSince)
      return (
        `Only once run ${waited} (queued since ${held.queuedSince}, not started) has run, and only if this slot's ` +
        'work is still needed: while it waits, a plain trigger is refused (409, concurrency forbid).'
      );
    return (
      `Only once ${waited ? `run ${waited}` : 'the run that held the job'} has finished, and only if this slot's work is ` +
      'still needed: while it runs, a plain trigger is refused (409, concurrency forbid).'
    );
  }
  if (alert.kind === 'stuck') {
    return (
      'Only if a new run is needed before the stuck one ends: `--force` starts it even while the stuck run still ' +
      'holds the job, and both then run side by side (a plain trigger is refused with 409, or waits behind the ' +
      'stuck run, under concurrency forbid).'
    );
  }
  return undefined;
}

/**
 * The exact commands that re-run what failed: only the failed targets of a partial run, the whole job otherwise
 * (`--force` for a stuck run, which may still hold the job). Undefined when the alert is not about a job run.
 */
export function rerunCommands(alert: Alert, publicUrl: string, cliCommand = 'vigil'): RerunCommands | undefined {
  if (!alert.job || alert.resolved || !VERB[alert.kind]) return undefined;
  const tokenHint = apiTokenHint(cliCommand);
  const runRef = alert.run?.runId ?? alert.eventId;
  const reason = `re-run after ${runRef} ${VERB[alert.kind]}`;
  const targets = alert.kind === 'partial' ? (alert.failures ?? []).map((f) => f.target) : [];
  const force = alert.kind === 'stuck';
  const cli = [
    `${cliCommand.trim()} trigger`,
    shellQuote(alert.job),
    ...targets.map((t) => `--target ${shellQuote(t)}`),
    ...(force ? ['--force'] : []),
    `--reason ${shellPhrase(reason)}`,
  ].join(' ');
  const body = JSON.stringify({ reason, ...(targets.length ? { targets } : {}), ...(force ? { force: true } : {}) });
  const base = publicUrl.replace(/\/+$/, '');
  const curl =
    `curl -X POST -H "Authorization: Bearer $VIGIL_API_TOKEN" -H "Content-Type: application/json" ` +
    `${base}/api/jobs/${encodeURIComponent(alert.job)}/trigger -d ${shellQuote(body)}`;
  const when = rerunCondition(alert);
  return { cli, curl, reason, targets, tokenHint, ...(when ? { when } : {}) };
}

/**
 * Where the curl line's `$VIGIL_API_TOKEN` comes from (it is not in the email): the scheduler's API token. Told by
 * how the reader calls the CLI (ALERT_CLI), the only thing the notifier knows of where the reader stands:
 * - `<dir>/vigil` (absolute): the wrapper `VIGIL_STATE_DIR=<dir> npm start` writes; that stack's token is in
 *   `<dir>/env`, not in the checkout's `.vigil/env` (a `vigil` in a `bin` folder is an installed CLI, not a wrapper);
 * - `npx vigil`: a checkout (`npm start`, the default state dir), whose `.vigil/env` holds it;
 * - anything else (`vigil`, the image): a deployment, whose VIGIL_API_TOKEN variable it is.
 */
export function apiTokenHint(cli = 'vigil'): string {
  const command = cli.trim();
  const wrapper = /^(\/.*)\/vigil$/.exec(command);
  if (wrapper && !/(^|\/)\.?bin$/.test(wrapper[1])) {
    const dir = wrapper[1];
    return `$VIGIL_API_TOKEN is the scheduler's API token of the \`npm start\` stack in ${dir}: \`set -a; . ${shellQuote(`${dir}/env`)}; set +a\` exports it`;
  }
  if (/^npx\s+vigil$/.test(command)) {
    return "$VIGIL_API_TOKEN is the scheduler's API token, the VIGIL_API_TOKEN variable of the deployment; in the checkout `set -a; . .vigil/env; set +a` exports it";
  }
  return "$VIGIL_API_TOKEN is the scheduler's API token, the VIGIL_API_TOKEN variable of the deployment";
}

/** Link to the run in the scheduler API, when the alert has a run. */
export function runLink(alert: Alert, publicUrl: string): string | undefined {
  if (!alert.run?.runId) return undefined;
  return `${publicUrl.replace(/\/+$/, '')}/api/runs/${encodeURIComponent(alert.run.runId)}`;
}
