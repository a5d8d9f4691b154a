import type { Alert, LostFallback, Severity } from './alert.js';
import { formatTime } from './render-email.js';

/**
 * The notifier's own Slack-compatible messages (the fallback when email fails, or the `always` copy) travel as
 * `webhook.send` with this event type and the id `<notification id>.slack` (webhook-channel.ts). When the webhooks
 * service gives one up, its `webhook.dead` carries the same event type and id, but not the message.
 */
export const FALLBACK_EVENT_TYPE = 'vigil.alert';
export const FALLBACK_ID_SUFFIX = '.slack';
/** How long a dead fallback keeps the `smtp` readiness check failing (while SMTP fails too), unless one gets through. */
export const FALLBACK_FAILED_WINDOW_MS = 15 * 60_000;

/**
 * What a Slack message to ALERT_WEBHOOK_URL was about, kept (KV `vigil_notified`, 7 days) when it is queued, so that
 * the email about its loss can say what it said. Its key is the webhook id.
 */
export interface FallbackRecord {
  /** The notification id: an event id, or a grouped follow-up's id. */
  alertId: string;
  /** The event that raised the alert. */
  eventId: string;
  subject: string;
  severity: Severity;
  headline: string;
  /** The Slack message's title (the alert's email subject) and its error line. */
  title: string;
  error?: string;
  job?: string;
  runId?: string;
  /** notify.send recipients (instead of the cascade): the email about the loss goes to them too. */
  recipients?: string[];
  occurredAt: string;
  /** The copy of an alert that was emailed (ALERT_WEBHOOK_MODE=always), not the fallback of one that was not. */
  copy: boolean;
  /** Why email failed (the fallback). */
  emailError?: string;
  /** When it was queued (ms). */
  at: number;
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export function fallbackRecordOf(
  alertId: string,
  alert: Alert,
  title: string,
  emailError: string | undefined,
  at: number,
): FallbackRecord {
  return {
    alertId,
    eventId: alert.eventId,
    subject: alert.subject,
    severity: alert.severity,
    headline: clip(alert.headline, 300),
    title: clip(title, 300),
    ...(alert.error ? { error: clip(`${alert.error.type}: ${alert.error.message}`, 1_000) } : {}),
    ...(alert.job ? { job: alert.job } : {}),
    ...(alert.run?.runId ? { runId: alert.run.runId } : {}),
    ...(alert.recipients?.length ? { recipients: alert.recipients } : {}),
    occurredAt: alert.occurredAt,
    copy: emailError === undefined,
    ...(emailError !== undefined ? { emailError: clip(emailError, 500) } : {}),
    at,
  };
}

/** A `webhook.*` event (dead, delivered, attempt-failed) of one of the notifier's own Slack messages (`vigil.alert`). */
export function isOwnFallback(data: Record<string, unknown>): boolean {
  return data.eventType === FALLBACK_EVENT_TYPE;
}

/** The notification a fallback webhook id names: `01J….slack` → `01J…` (a hashed id stays the hash). */
export function alertIdOf(webhookId: string): string {
  return webhookId.endsWith(FALLBACK_ID_SUFFIX) ? webhookId.slice(0, -FALLBACK_ID_SUFFIX.length) : webhookId;
}

/**
 * The alert for a lost Slack message of the notifier, before its record is read (notifier.ts adds it): email only,
 * never grouped, CRITICAL (it may be an alert nobody has seen), naming the alert by its id.
 */
export function lostFallbackAlert(base: Alert, d: Record<string, unknown>, host: string): Alert {
  const webhookId = typeof d.id === 'string' && d.id ? d.id : 'unknown';
  const alertId = alertIdOf(webhookId);
  const lastError = deadReason(d);
  const lost: LostFallback = { webhookId, alertId, lastError };
  const facts: Array<[string, string]> = [['Alert id', alertId], ...base.facts.filter(([k]) => k !== 'Event type')];
  facts.push(['Last error', lastError]);
  return {
    ...base,
    severity: 'CRITICAL',
    headline: `undelivered alert ${alertId} (email and the webhook fallback both failed)`,
    // no error type in the subject: the webhook's error is not the alert's; it is in the body and the details
    error: undefined,
    facts,
    body:
      `Alert ${alertId} could not be emailed, so it was sent to ALERT_WEBHOOK_URL (${host}) as a Slack message, and ` +
      `the webhooks service gave that message up: ${lastError}. Nobody received it until this email. What it said ` +
      'could not be read back (its record is gone): the dead-lettered webhook.send holds it (`vigil dlq list`).',
    emailOnly: true,
    lostFallback: lost,
    groupType: 'lost-fallback',
  };
}

/** Fills the alert about a lost Slack message in from what was recorded when it was queued. */
export function withFallbackRecord(alert: Alert, rec: FallbackRecord): Alert {
  const lost = alert.lostFallback as LostFallback;
  const host = /^webhook:(.*)$/.exec(alert.scope)?.[1] ?? 'ALERT_WEBHOOK_URL';
  const said = [rec.title, rec.error].filter(Boolean).join('\n');
  // job and run show under "What happened" (they are the alert's own below)
  const original: Array<[string, string]> = [['Alert id', rec.alertId]];
  if (rec.eventId !== rec.alertId) original.push(['Alert event', rec.eventId]);
  original.push(['Alert subject', rec.subject], ['Alert raised at', formatTime(rec.occurredAt)]);
  if (rec.emailError) original.push(['Email failure', rec.emailError]);
  const rest = alert.facts.filter(([k]) => k !== 'Alert id');
  const common = {
    ...alert,
    facts: [...original, ...rest],
    ...(rec.job ? { job: rec.job } : {}),
    ...(rec.runId ? { run: { runId: rec.runId } } : {}),
    ...(rec.recipients?.length ? { recipients: rec.recipients } : {}),
  };
  if (rec.copy) {
    return {
      ...common,
      severity: 'WARNING',
      headline: `webhook copy lost: ${rec.headline} (the alert itself was emailed)`,
      body:
        `The copy of this alert sent to ALERT_WEBHOOK_URL (${host}) was given up by the webhooks service: ` +
        `${lost.lastError}. The alert itself was emailed. What the lost message said:\n\n${said}`,
    };
  }
  return {
    ...common,
    severity: rec.severity,
    headline: `undelivered alert: ${rec.headline} (email and the webhook fallback both failed)`,
    body:
      `Email could not deliver this alert (${rec.emailError ?? 'email failed'}), so it was sent to ALERT_WEBHOOK_URL ` +
      `(${host}) as a Slack message, and the webhooks service gave that message up: ${lost.lastError}. Nobody ` +
      `received it until this email. What the lost message said:\n\n${said}`,
  };
}

interface DeadFallback {
  id: string;
  lastError: string;
  /** When the webhooks service gave it up (ms). */
  at: number;
  /** When this replica last saw it (ms): its consumer sees it again on each redelivery while email fails. */
  seenAt: number;
}

/**
 * Failed attempts in a row (across the notifier's Slack messages, none delivered since) that make a fallback still
 * being retried count as failing: one may be a blip the next retry gets through; two are not, and the webhooks
 * service may go on retrying for days (WEBHOOKS_MAX_AGE) before `webhook.dead`, reaching nobody all that time.
 */
export const FALLBACK_FAILING_ATTEMPTS = 2;

/** The latest of a run of failed attempts of the notifier's Slack messages (`webhook.attempt-failed`). */
interface FailedAttempts {
  id: string;
  /** The webhooks service's attempt number of that message, when it said. */
  attempt?: number;
  lastError: string;
  /** When it failed (ms). */
  at: number;
  /** When this replica saw it (ms). */
  seenAt: number;
  /** Failed attempts in the run: each within the window of the one before, no delivery since the first. */
  count: number;
}

/** Why the fallback counts as failing, for readiness (smtp-check.ts says it). */
export type FallbackFailure =
  | { kind: 'dead'; id: string; lastError: string }
  | { kind: 'retrying'; id: string; lastError: string; attempt?: number; failedInRow: number };

/**
 * Whether the fallback channel is known to fail: a dead Slack message of the notifier seen within
 * FALLBACK_FAILED_WINDOW_MS, or FALLBACK_FAILING_ATTEMPTS failed attempts in a row, the last within it; either way no
 * later one delivered. Fed from `webhook.dead` / `webhook.delivered` / `webhook.attempt-failed` (every replica
 * listens) and from the consumer of `webhook.dead` (which sees a waiting one again after a restart).
 */
export class FallbackHealth {
  private dead?: DeadFallback;
  private failing?: FailedAttempts;
  private deliveredAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly now: () => number,
    private readonly windowMs = FALLBACK_FAILED_WINDOW_MS,
  ) {}

  noteDead(id: string, lastError: string, at: number): void {
    // a fallback delivered after it died: the channel works again
    if (at <= this.deliveredAt) return;
    const seenAt = this.now();
    if (!this.dead || at >= this.dead.at) this.dead = { id, lastError, at, seenAt };
    else this.dead.seenAt = seenAt;
  }

  /** A failed attempt the webhooks service will retry (or the last one before it gives up: noteDead follows). */
  noteAttemptFailed(id: string, attempt: number | undefined, lastError: string, at: number): void {
    // failed before a fallback was delivered: the channel worked since
    if (at <= this.deliveredAt) return;
    const seenAt = this.now();
    const run = this.failing;
    // a run that went quiet for the window (nothing retried meanwhile) says nothing about the channel now
    const count = run && seenAt - run.seenAt < this.windowMs ? run.count + 1 : 1;
    // an older attempt reported late adds to the run but does not become its last error
    this.failing = !run || at >= run.at ? { id, attempt, lastError, at, seenAt, count } : { ...run, seenAt, count };
  }

  noteDelivered(at: number): void {
    if (at > this.deliveredAt) this.deliveredAt = at;
    if (this.dead && this.dead.at <= at) this.dead = undefined;
    if (!this.failing) return;
    if (this.failing.at <= at) this.failing = undefined;
    // delivered between failed attempts reported out of order: only the latest is known to come after it
    else this.failing.count = 1;
  }

  /** Why the fallback counts as failing now, for readiness; a given-up message says more than a retried one. */
  failure(): FallbackFailure | undefined {
    const now = this.now();
    const d = this.dead;
    if (d && now - d.seenAt < this.windowMs) return { kind: 'dead', id: d.id, lastError: d.lastError };
    const f = this.failing;
    if (!f || f.count < FALLBACK_FAILING_ATTEMPTS || now - f.seenAt >= this.windowMs) return undefined;
    return { kind: 'retrying', id: f.id, lastError: f.lastError, attempt: f.attempt, failedInRow: f.count };
  }
}

/** Why a webhook was given up, from its `webhook.dead`. */
export function deadReason(data: Record<string, unknown>): string {
  if (typeof data.lastError === 'string' && data.lastError) return data.lastError;
  const e = data.error as { message?: unknown } | undefined;
  return typeof e?.message === 'string' && e.message ? e.message : 'given up (no error reported)';
}

/** `at` of a webhook event (ms), or now. */
export function eventAt(data: Record<string, unknown>, time: string | undefined, now: number): number {
  for (const v of [data.at, time]) {
    const t = typeof v === 'string' ? Date.parse(v) : Number.NaN;
    if (Number.isFinite(t)) return t;
  }
  return now;
}
