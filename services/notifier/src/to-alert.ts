import { ErrorCode } from '@vigil/shared';
import type { Alert, AlertFailure, AlertKind, AlertRun, AlertStats, Severity } from './alert.js';
import { errorOf, factsOf, isRec, num, parseSeverity, type Rec, str } from './event-fields.js';
import { isOwnFallback, lostFallbackAlert } from './lost-fallback.js';
import { secretsAlert, secretsRecoveredAlert } from './secrets-alert.js';
import { skippedWaitedFor } from './skipped-reason.js';
import { webhookItem } from './webhook-actions.js';
import { webhookGroupClass } from './webhook-death.js';

export { parseSeverity } from './event-fields.js';

/** The part of a CloudEvent the notifier reads. */
export interface EventLike {
  id: string;
  source?: string;
  time?: string;
  subject?: string;
  data: unknown;
}

function failureText(v: unknown): string {
  if (typeof v === 'string') return v;
  const e = errorOf(v);
  return e ? (e.message ? `${e.type}: ${e.message}` : e.type) : JSON.stringify(v);
}

function runOf(d: Rec): AlertRun | undefined {
  const runId = str(d.runId);
  if (!runId) return undefined;
  return {
    runId,
    attempt: num(d.attempt),
    trigger: str(d.trigger),
    scheduledAt: str(d.scheduledAt),
    startedAt: str(d.startedAt),
    finishedAt: str(d.finishedAt),
    durationMs: num(d.durationMs),
    reason: str(d.reason),
    requestedBy: str(d.requestedBy),
  };
}

function statsOf(v: unknown): AlertStats | undefined {
  if (!isRec(v)) return undefined;
  const targets = num(v.targets);
  if (targets === undefined) return undefined;
  return { targets, succeeded: num(v.succeeded) ?? 0, failed: num(v.failed) ?? 0, skipped: num(v.skipped) };
}

function failuresOf(v: unknown): AlertFailure[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const list = v.filter(isRec).map((f) => ({ target: str(f.target) ?? '?', error: failureText(f.error) }));
  return list.length ? list : undefined;
}

const JOB_KINDS: Record<string, { kind: AlertKind; severity: Severity; verb: string }> = {
  failed: { kind: 'failed', severity: 'CRITICAL', verb: 'failed' },
  missed: { kind: 'missed', severity: 'CRITICAL', verb: 'missed its start deadline' },
  stuck: { kind: 'stuck', severity: 'CRITICAL', verb: 'is stuck (running past its timeout)' },
  partial: { kind: 'partial', severity: 'WARNING', verb: 'partially failed' },
  recovered: { kind: 'recovered', severity: 'INFO', verb: 'recovered' },
  skipped: { kind: 'skipped', severity: 'WARNING', verb: 'skipped a scheduled run' },
};

/** The run a skipped slot waited for (running or queued). */
export function skippedFor(reason: string | undefined): string | undefined {
  return skippedWaitedFor(reason)?.runId;
}

/**
 * `job.skipped`: a scheduled (or catch-up) slot the scheduler did not run because the previous run still held the job
 * (concurrency forbid) is lost, and said so (WARNING). A manual trigger refused the same way is not: its caller got the
 * 409 (or the CLI's refusal) already. A paused job's slots are skipped without an event.
 */
function skippedAlert(ev: EventLike, jobFromSubject: string, d: Rec): Alert | undefined {
  const trigger = str(d.trigger);
  if (trigger === 'manual' || /^manual trigger refused/i.test(str(d.reason) ?? '')) return undefined;
  const alert = jobAlert(ev, 'skipped', jobFromSubject, d);
  const waitedFor = skippedWaitedFor(alert.run?.reason);
  if (alert.run?.scheduledAt) alert.facts.push(['Skipped slot', alert.run.scheduledAt]);
  if (waitedFor)
    alert.facts.push([
      'Waited for',
      waitedFor.queuedSince
        ? `run ${waitedFor.runId}, queued since ${waitedFor.queuedSince} and not started at the slot`
        : `run ${waitedFor.runId}, still running at the slot`,
    ]);
  alert.occurredAt = ev.time ?? alert.occurredAt;
  return alert;
}

function jobAlert(ev: EventLike, family: string, jobFromSubject: string, d: Rec): Alert {
  const spec = JOB_KINDS[family];
  const job = str(d.job) ?? jobFromSubject;
  const error = errorOf(d.error);
  const stats = statsOf(d.stats);
  const failures = failuresOf(d.failures);
  const failed = stats?.failed ?? failures?.length;
  const headline =
    spec.kind === 'partial' && stats
      ? `${job} partially failed (${failed}/${stats.targets} targets)`
      : `${job} ${spec.verb}`;
  return {
    eventId: ev.id,
    subject: ev.subject ?? `job.${family}.${job}`,
    kind: spec.kind,
    severity: spec.severity,
    resolved: spec.kind === 'recovered',
    headline,
    scope: `job:${job}`,
    job,
    occurredAt: str(d.finishedAt) ?? ev.time ?? new Date().toISOString(),
    run: runOf(d),
    error,
    stats,
    failures,
    facts: [],
    groupType: error?.type ?? spec.kind,
  };
}

function webhookDeadAlert(ev: EventLike, d: Rec): Alert {
  const url = str(d.url) ?? 'unknown endpoint';
  let host = url;
  try {
    host = new URL(url).host;
  } catch {
    // keep the raw text: the alert must still go out
  }
  const error =
    errorOf(d.error) ?? (str(d.lastError) ? { type: 'WebhookError', message: String(d.lastError) } : undefined);
  const attempts = num(d.attempts);
  const status = num(d.status) ?? num(d.lastStatus) ?? num(d.lastStatusCode);
  const facts = factsOf(d, [
    ['Webhook id', 'id'],
    ['URL', 'url'],
    ['Event type', 'eventType'],
    ['Attempts', 'attempts'],
    ['Last status', 'lastStatus'],
    ['Status', 'status'],
  ]);
  const alert: Alert = {
    eventId: ev.id,
    subject: ev.subject ?? 'webhook.dead',
    kind: 'webhook-dead',
    severity: 'WARNING',
    resolved: false,
    headline: `webhook to ${host} given up`,
    scope: `webhook:${host}`,
    occurredAt: ev.time ?? new Date().toISOString(),
    error,
    facts,
    delivery: {
      ...(attempts !== undefined ? { attempts } : {}),
      ...(status !== undefined ? { status } : {}),
    },
    groupType: error?.type ?? 'dead',
  };
  // A follow-up names the webhooks it folded (id and cause); a refused URL and used-up retries (fix it vs wait and
  // replay) or a request never sent are separate groups.
  const item = webhookItem(alert);
  if (item) alert.items = [item];
  alert.groupType = `${alert.groupType}:${webhookGroupClass(alert)}`;
  // The notifier's own Slack message (fallback or copy): email only, about the alert it carried, never back to the
  // webhook that just failed (that would loop through the same dead URL and reach nobody).
  return isOwnFallback(d) ? lostFallbackAlert(alert, d, host) : alert;
}

function breakerAlert(ev: EventLike, rest: string[], d: Rec): Alert {
  const service = str(d.service) ?? rest[0] ?? 'unknown';
  const name = str(d.name) ?? (rest.slice(1).join('.') || 'breaker');
  const error = errorOf(d.error) ?? errorOf(d.lastError);
  const facts: Array<[string, string]> = [
    ['Service', service],
    ['Breaker', name],
    ...factsOf(d, [
      ['Instance', 'instance'],
      ['Failures', 'failures'],
      ['Reset after (ms)', 'resetTimeoutMs'],
    ]),
  ];
  const instance = str(d.instance);
  return {
    eventId: ev.id,
    subject: ev.subject ?? `breaker.opened.${service}.${name}`,
    kind: 'breaker-opened',
    severity: 'WARNING',
    resolved: false,
    headline: `circuit breaker ${service}/${name} opened`,
    scope: breakerScope(service, name),
    breaker: instance ? { service, name, instance } : { service, name },
    occurredAt: ev.time ?? new Date().toISOString(),
    error,
    facts,
    groupType: 'opened',
  };
}

/**
 * `breaker.closed`: the breaker lets calls through again. The notifier turns it into a ✅ RESOLVED notice only when it
 * ends an opening it alerted about (notifier.ts, breaker-incident.ts), which adds how long it was open.
 */
function breakerClosedAlert(ev: EventLike, rest: string[], d: Rec): Alert {
  const service = str(d.service) ?? rest[0] ?? 'unknown';
  const name = str(d.name) ?? (rest.slice(1).join('.') || 'breaker');
  const instance = str(d.instance);
  return {
    eventId: ev.id,
    subject: ev.subject ?? `breaker.closed.${service}.${name}`,
    kind: 'breaker-closed',
    severity: 'INFO',
    resolved: true,
    headline: `circuit breaker ${service}/${name} closed again`,
    scope: breakerScope(service, name),
    breaker: instance ? { service, name, instance } : { service, name },
    occurredAt: ev.time ?? str(d.at) ?? new Date().toISOString(),
    facts: [
      ['Service', service],
      ['Breaker', name],
    ],
    groupType: 'closed',
  };
}

/** The scope of a breaker's alerts, groups and opening record: `breaker:<service>.<name>`. */
export function breakerScope(service: string, name: string): string {
  return `breaker:${service}.${name}`;
}

export const TEST_EMAIL_TITLE = 'Vigil test email';

function messageAlert(ev: EventLike, d: Rec): Alert {
  const title = str(d.title) ?? 'Vigil notification';
  const recipients = Array.isArray(d.recipients)
    ? d.recipients.filter((r): r is string => typeof r === 'string')
    : undefined;
  const dedupeKey = str(d.dedupeKey);
  const facts: Array<[string, string]> = [];
  if (isRec(d.details)) {
    for (const [k, v] of Object.entries(d.details).slice(0, 30)) {
      facts.push([k, typeof v === 'string' ? v : JSON.stringify(v)]);
    }
  }
  return {
    eventId: ev.id,
    subject: ev.subject ?? 'notify.send',
    kind: 'message',
    severity: parseSeverity(d.severity, 'INFO'),
    resolved: String(d.severity).toLowerCase() === 'resolved',
    headline: title,
    scope: dedupeKey ? `notify:${dedupeKey}` : `notify:${ev.id}`,
    occurredAt: ev.time ?? new Date().toISOString(),
    facts,
    body: str(d.body),
    recipients: recipients?.length ? recipients : undefined,
    groupType: dedupeKey ?? 'message',
    sample: title === TEST_EMAIL_TITLE,
  };
}

/** Turns a subscribed event into an Alert, or undefined for subjects the notifier does not alert on. */
export function toAlert(subject: string, ev: EventLike): Alert | undefined {
  const d: Rec = isRec(ev.data) ? ev.data : {};
  const parts = subject.split('.');
  const e = { ...ev, subject };
  if (parts[0] === 'job' && parts[1] in JOB_KINDS) {
    // A run cancelled on purpose (concurrency `replace`: a newer run took over, or job.cancel) is not a failure
    // anyone must be woken for; its newer run reports for itself.
    if (isRec(d.error) && d.error.code === ErrorCode.RUN_CANCELLED) return undefined;
    if (parts[1] === 'skipped') return skippedAlert(e, parts.slice(2).join('.'), d);
    return jobAlert(e, parts[1], parts.slice(2).join('.'), d);
  }
  if (subject === 'secrets.refresh-failed') return secretsAlert(e, 'refresh-failed', d);
  if (subject === 'secrets.stale-served') return secretsAlert(e, 'stale-served', d);
  if (subject === 'secrets.refreshed') return secretsRecoveredAlert(e, d);
  if (subject === 'webhook.dead') return webhookDeadAlert(e, d);
  if (parts[0] === 'breaker' && parts[1] === 'opened') return breakerAlert(e, parts.slice(2), d);
  if (parts[0] === 'breaker' && parts[1] === 'closed') return breakerClosedAlert(e, parts.slice(2), d);
  if (subject === 'notify.send') return messageAlert(e, d);
  return undefined;
}
