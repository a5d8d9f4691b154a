import { shellQuote } from '@vigil/shared';
import type { Alert, AlertError } from './alert.js';
import { errorActions, type RunContext } from './error-actions.js';
import { missedRunNeverRequested } from './rerun.js';
import { skippedWaitedFor } from './skipped-reason.js';
import { secretsActions } from './secrets-actions.js';
import { serviceActions } from './service-actions.js';
import { webhookActions } from './webhook-actions.js';

/**
 * A missed slot the scheduler never requested (missedRunNeverRequested): it did not run and will not run by itself,
 * so the re-run is the action; then why it could not be requested (NATS, or the scheduler down), and how to have
 * such a slot run late next time (catchUp) unless a newer slot ran as catch-up instead.
 */
function neverRequestedActions(alert: Alert): string[] {
  const reason = alert.run?.reason ?? 'the scheduler did not request it';
  const nats = /NATS was unavailable|publishing failed/i.test(reason);
  const newer = /newer slot (ran|runs) as catch-up/i.test(reason);
  const slot = alert.run?.scheduledAt ? `The slot of ${alert.run.scheduledAt}` : 'This slot';
  return [
    newer
      ? `${slot} did not run and will not run by itself (${reason}). A newer slot ran in its place: re-run this one with the command below only if its own work is needed (e.g. the data of that period).`
      : `${slot} did not run and will not run by itself: it was never requested (${reason}). Re-run it with the command below if its work is still needed.`,
    nats
      ? 'Check why NATS was unavailable at the slot: `vigil health` (every service reports its NATS connection), the nats server itself (its logs, `GET :8222/healthz` of its monitoring port), and the network between it and the scheduler.'
      : 'Check why the scheduler was down at the slot (`vigil health`, its logs, restarts of its container or pod).',
    ...(newer
      ? []
      : [
          'To have such a slot run late instead of being lost, give the job a `catchUp` window covering the outage (the newest slot missed inside it runs once NATS and the scheduler are back).',
        ]),
  ];
}

/** `job.skipped` of a scheduled slot: the previous run still held the job, so this slot did not run and will not. */
function skippedActions(alert: Alert): string[] {
  const held = skippedWaitedFor(alert.run?.reason);
  const waited = held?.runId;
  const slot = alert.run?.scheduledAt ? `The slot of ${alert.run.scheduledAt}` : 'This scheduled slot';
  const run = waited ? `run ${waited}` : 'the previous run';
  if (waited && held?.queuedSince) {
    // requested and never started: nothing runs long, no runner took it (runners down, the handler's service paused)
    return [
      `${slot} did not run and will not run by itself: ${run} was queued since ${held.queuedSince} and had not started, and the job allows one run at a time (concurrency forbid). No ✅ RESOLVED follows for a skipped slot.`,
      `${run} is queued since ${held.queuedSince} and has not started: are runners up? \`vigil health\` (runners down, or the service that handles the job paused), then \`vigil run ${shellQuote(waited)}\`. It runs once a runner takes it; if none does by its start deadline, a 🚨 missed alert follows.`,
      'Once it has run, re-run this slot with the command below if its work is still needed.',
    ];
  }
  return [
    `${slot} did not run and will not run by itself: ${run} was still running and the job allows one run at a time (concurrency forbid). No ✅ RESOLVED follows for a skipped slot.`,
    `Check why ${run} takes longer than the schedule's interval: ${waited ? `\`vigil run ${shellQuote(waited)}\`` : `\`vigil runs --job ${shellQuote(alert.job ?? '<job>')} --limit 5\``}. If it hangs, a 🚨 stuck alert follows at its timeout.`,
    'Once it has finished, re-run this slot with the command below if its work is still needed. If runs regularly outlast the interval, space the schedule out, or set `concurrency: allow` (overlapping runs) or `replace` (the newer run cancels the older) in the jobs file.',
  ];
}

/** "first success after a missed run" (job.recovered's reason) -> "missed". */
function recoveredFrom(alert: Alert): string | undefined {
  return /after an? (failed|partial|missed|stuck) run/.exec(alert.run?.reason ?? '')?.[1];
}

/** The notifier's own Slack message (fallback or copy) given up: the alert is in this email; fix the channels. */
function lostFallbackActions(alert: Alert): string[] {
  const copy = alert.headline.startsWith('webhook copy lost');
  return [
    ...(copy
      ? []
      : [
          'Act on the alert described above: it was raised while email was down and reached nobody until now.',
          'Fix email (SMTP_URL, the mail server): while it fails and ALERT_WEBHOOK_URL fails too, alerts wait (the notifier is not ready, `vigil health` shows why) and are emailed once it works.',
        ]),
    'Check ALERT_WEBHOOK_URL (the Slack incoming webhook may have been revoked or its URL mistyped) and that the webhooks service can reach it.',
    'The lost Slack message is dead-lettered: once the URL works, `vigil dlq list` then `vigil dlq replay <seq>` posts it after all (optional: this email carries it).',
  ];
}

/** Where the reader reads the alert: the email, or the Slack-compatible message (fallback or copy). */
export type AlertChannel = 'email' | 'webhook';

/**
 * The notifier's own SMTP breaker opened. By email, this alert can only go out once mail gets through again (the
 * redrive sends it when the breaker closes), and no ✅ RESOLVED follows an emailed one (breaker-notices.ts); through
 * the webhook fallback it is read while email fails, and the RESOLVED email does follow.
 */
function ownSmtpOpenedActions(channel: AlertChannel): string[] {
  if (channel === 'webhook') {
    return [
      "The notifier's email (SMTP) is failing: alerts come through this webhook until it works again. Check the mail server and SMTP_URL; `vigil health` shows the breaker and the last SMTP error.",
      'The breaker closes by itself after a successful probe; a ✅ RESOLVED email follows then.',
    ];
  }
  return [
    "The notifier's email (SMTP) failed repeatedly and its breaker opened; meanwhile alerts went to the ALERT_WEBHOOK_URL fallback, if set, or waited for email.",
    'This email could only be sent once mail got through again, so email works now (the SMTP breaker state when it was sent is in the details below). No separate ✅ RESOLVED email follows for it; alerts that waited for email are sent as well. If it keeps happening, check the mail server and SMTP_URL (`vigil health` shows the breaker).',
  ];
}

function breakerClosedActions(alert: Alert): string[] {
  const service = alert.breaker?.service ?? alert.scope;
  const name = alert.breaker?.name ?? 'its dependency';
  const actions = alert.breaker?.gone
    ? [
        `Nothing to do unless it fails again: the instance that had it open is gone, and the ${service} instances running now call ${name} again; should it still fail, their breaker opens and a new ⚠️ WARNING follows.`,
      ]
    : [`Nothing to do: a probe of ${name} got through, so ${service} calls it again.`];
  if (service === 'webhooks') {
    actions.push(
      'Deliveries that waited for this destination go out now by themselves; those given up while it was open are dead-lettered: `vigil dlq list`, then `vigil dlq replay <seq>`.',
    );
  } else if (service === 'notifier' && name === 'smtp') {
    actions.push(
      'Email works again: alerts that waited for it are being sent now, and so are those handed to the webhook fallback that it had not delivered (see "Webhook fallback" in the details when this replica sent them); those it delivered are not emailed again.',
    );
  } else {
    actions.push(
      'Check whether work that failed while it was open needs a re-run: `vigil runs --status failed` (or `GET /api/runs?status=failed`).',
    );
  }
  return actions;
}

/**
 * What a human should do first, chosen by the kind of alert and the class and type of its error, most useful first. `cli`: how the reader calls the CLI (ALERT_CLI, e.g. `npx vigil` in
 * a checkout): every `vigil …` command in the actions is written that way, like the re-run line.
 */
export function recommendedActions(alert: Alert, cli = 'vigil', channel: AlertChannel = 'email'): string[] {
  const actions = actionsFor(alert, channel);
  return cli === 'vigil' ? actions : actions.map((a) => a.replaceAll('`vigil ', `\`${cli} `));
}

function runContext(alert: Alert): RunContext {
  const stats = alert.stats;
  const failures = alert.failures ?? [];
  const failed = stats?.failed ?? failures.length;
  const targetsFailed =
    failures.length > 0 && failed > 0
      ? { failed, targets: stats?.targets ?? failed, names: failures.map((f) => f.target) }
      : undefined;
  return { attempt: alert.run?.attempt, ...(targetsFailed ? { targetsFailed } : {}) };
}

function actionsFor(alert: Alert, channel: AlertChannel): string[] {
  const scope = alert.job ?? alert.scope;
  switch (alert.kind) {
    case 'recovered':
      switch (recoveredFrom(alert)) {
        case 'missed':
          return [
            'Nothing to do: the job ran and succeeded after its missed start (the queued run once a runner took it, or a later one). If you re-ran it meanwhile, it ran twice: check for duplicated work.',
          ];
        case 'stuck':
          return [
            'Nothing to do: the job succeeded again. Check whether the stuck run finished, or left half-done work behind.',
          ];
        default:
          return ['Nothing to do: the job succeeded again. Check that the data of the failed runs is complete.'];
      }
    case 'missed':
      if (missedRunNeverRequested(alert)) return neverRequestedActions(alert);
      if (/waits behind run|which it waited behind/.test(alert.run?.reason ?? '')) {
        // Not the runners: it queued behind another run of its job (concurrency forbid/replace).
        const behind = /behind run (\S+)/.exec(alert.run?.reason ?? '')?.[1] ?? '<runId>';
        return [
          `The run waited behind run ${behind} of the same job (one run at a time): \`vigil run ${shellQuote(behind)}\` shows whether it is stuck or just long.`,
          'The run is still queued: it starts once that run ends, and a ✅ RESOLVED email follows when it succeeds. If that run hangs, cancel it or fix its handler; if the job is legitimately longer than its schedule, space the schedule out.',
        ];
      }
      return [
        'No runner started the job before its start deadline: check that the runners are up (`vigil health`, `GET /api/system/health`) and their NATS connectivity.',
        'The run is still queued: it starts as soon as a runner takes it, and a ✅ RESOLVED email follows when it succeeds. Nothing to re-run for that (see the condition under Re-run).',
      ];
    case 'skipped':
      return skippedActions(alert);
    case 'stuck':
      return [
        `The handler of ${scope} is running past its timeout: inspect the handler (logs of the run, hung external calls).`,
        'The run may still finish: wait for it (a ✅ RESOLVED email follows the next success), or stop its handler. A plain re-run can be refused (409) while the run still holds the job (concurrency forbid): the command below has `--force`.',
        'If the work is legitimately long, raise `timeout` in the jobs file.',
      ];
    case 'secrets-refresh-failed':
    case 'secrets-stale-served':
      return secretsActions(alert);
    case 'secrets-recovered':
      if (alert.missingSecrets?.length) {
        return [
          `Nothing to do: ${alert.missingSecrets.join(', ')} can be read again (restored or created), and jobs that need ${alert.missingSecrets.length === 1 ? 'it' : 'them'} get the value now.`,
          'Runs that failed while it was missing are not re-run by themselves: re-run them if their work is still needed (`vigil runs --status failed`).',
        ];
      }
      return [
        'Nothing to do: the provider answers again and the cached secrets were refreshed.',
        ...(alert.staleSecrets?.length
          ? [
              `Jobs ran on stale values of ${alert.staleSecrets.join(', ')} during the outage: if one of them was rotated meanwhile, check those runs for auth errors.`,
            ]
          : []),
      ];
    case 'webhook-dead':
      if (alert.lostFallback) return lostFallbackActions(alert);
      return webhookActions(alert);
    case 'breaker-opened':
      if (alert.breaker?.service === 'secrets') {
        return [
          'The secrets provider keeps failing: the secrets service serves the cached values it has (stale) and stops asking the provider until the breaker half-opens.',
          'The secrets alerts of this outage (stale secret served, refresh failed) name the cause and what to fix; `vigil secrets status` shows each secret with the provider error. The breaker closes by itself after a successful probe, and a ✅ RESOLVED email follows.',
        ];
      }
      if (alert.breaker?.service === 'notifier' && alert.breaker.name === 'smtp') return ownSmtpOpenedActions(channel);
      return [
        `Calls to a dependency of ${scope} are failing repeatedly; they are short-circuited until the breaker half-opens.`,
        "Check the dependency's status page and connectivity; the breaker closes by itself after a successful probe, and a ✅ RESOLVED email follows.",
      ];
    case 'breaker-closed':
      return breakerClosedActions(alert);
    case 'service-down':
    case 'service-recovered':
    case 'service-not-ready':
    case 'service-ready':
    case 'service-restarting':
    case 'service-stable':
      return serviceActions(alert.kind, alert.service ?? scope, alert.items ?? []);
    case 'expired-digest':
      return [
        'Check which of these still matter: `vigil runs --status failed` (or `GET /api/runs?status=failed`) shows the runs and whether a later one succeeded; re-run what is still needed with `vigil trigger <job> --reason "…"`.',
        'Find out why the notifier was away that long (`docker compose ps -a notifier`, `kubectl get pods -l app.kubernetes.io/name=vigil-notifier`, its logs): while no notifier runs, no failure reaches anyone (two replicas keep one restart from silencing alerts).',
      ];
    case 'message':
      return alert.sample ? ['This is a test: if you can read it, email alerts reach you. Nothing to do.'] : [];
    default: {
      const actions = alert.error ? errorActions(alert.error, scope, runContext(alert)) : [];
      // Per-target errors say more than the run's summary: advise on each kind of failure (bounded).
      const byAction = new Map<string, string[]>();
      for (const f of alert.failures ?? []) {
        const [type, ...rest] = f.error.split(': ');
        const err: AlertError = rest.length ? { type, message: rest.join(': ') } : { type: 'Error', message: f.error };
        for (const a of errorActions(err, scope).filter((x) => !x.startsWith('Read the error'))) {
          byAction.set(a, [...(byAction.get(a) ?? []), f.target]);
        }
      }
      for (const [a, targets] of [...byAction].slice(0, 3)) {
        const names =
          targets.length > 3 ? `${targets.slice(0, 3).join(', ')} and ${targets.length - 3} more` : targets.join(', ');
        const line = `${names}: ${a}`;
        if (!actions.includes(a)) actions.push(line);
      }
      if (alert.kind === 'partial' && alert.failures?.length) {
        actions.push(`Re-run only the ${alert.failures.length} failed target(s) with the command below.`);
      }
      if (actions.length === 0) actions.push('Read the run details below and the job logs.');
      return actions;
    }
  }
}
