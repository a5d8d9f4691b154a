/**
 * The notifier's own view of "something a human must hear about": every subscribed event, whatever its
 * family, becomes one Alert. Templates, grouping, recipients and channels only ever see Alerts.
 */
export type Severity = 'CRITICAL' | 'WARNING' | 'INFO';

export type AlertKind =
  | 'failed'
  | 'partial'
  | 'missed'
  | 'stuck'
  | 'recovered'
  /** `job.skipped` of a scheduled slot: the previous run still held the job (concurrency forbid), the slot is lost. */
  | 'skipped'
  | 'secrets-refresh-failed'
  | 'secrets-stale-served'
  | 'secrets-recovered'
  | 'webhook-dead'
  | 'breaker-opened'
  /** `breaker.closed` ending an opening the notifier alerted about (breaker-incident.ts). */
  | 'breaker-closed'
  /** The watchdog (watchdog*.ts): no instance answers / one answers again. */
  | 'service-down'
  | 'service-recovered'
  /** The watchdog: instances answer, none ready / one ready again. */
  | 'service-not-ready'
  | 'service-ready'
  /** The watchdog: instances keep going away soon after starting / no longer. */
  | 'service-restarting'
  | 'service-stable'
  | 'message'
  /** One email listing the alerts that were older than ALERT_MAX_AGE when first seen (expired-digest.ts). */
  | 'expired-digest';

export type ErrorClassName = 'validation' | 'transient' | 'permanent' | 'unexpected';

export interface AlertError {
  type: string;
  message: string;
  stack?: string;
  class?: ErrorClassName;
  code?: string;
}

export interface AlertRun {
  runId: string;
  attempt?: number;
  trigger?: string;
  scheduledAt?: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  reason?: string;
  requestedBy?: string;
}

export interface AlertStats {
  targets: number;
  succeeded: number;
  failed: number;
  skipped?: number;
}

export interface AlertFailure {
  target: string;
  error: string;
}

export interface Alert {
  /** CloudEvent id of the event that raised it (dedupe key). */
  eventId: string;
  subject: string;
  kind: AlertKind;
  severity: Severity;
  /** True for "it is fine again" alerts (job.recovered). */
  resolved: boolean;
  /** One line, e.g. "daily-reports failed"; the email subject adds severity and error type. */
  headline: string;
  /** The job, secret, endpoint or service the alert is about (first half of the group key). */
  scope: string;
  job?: string;
  /** When it happened (ISO 8601). */
  occurredAt: string;
  run?: AlertRun;
  error?: AlertError;
  stats?: AlertStats;
  failures?: AlertFailure[];
  /** Extra facts shown as a table (label, value), e.g. a secret's cache age. */
  facts: Array<[string, string]>;
  /** Free text (notify.send body). */
  body?: string;
  /** secrets.refresh-failed: some failed secret has no cached value, so jobs that need it fail now. */
  uncachedSecrets?: boolean;
  /**
   * What the alert is about, named in a group's follow-up (`(+2 more: openai, companies)`): the secret of a
   * stale-served alert, the failed secrets of a refresh failure. Undefined when the headline says it all.
   */
  items?: string[];
  /** Resolved secrets outage: the secrets that were served stale during it. */
  staleSecrets?: string[];
  /**
   * secrets.refresh-failed: the failed secrets the provider says do not exist (deleted or misnamed, not an outage).
   * A resolved incident: set when every secret it alerted about was such a one (they exist again).
   */
  missingSecrets?: string[];
  /** secrets.refreshed (recovered): how long the secret had been failing, when the secrets service says. */
  recovery?: { downForSeconds: number };
  /** webhook.dead: how the delivery ended (attempts made, last HTTP status when there was an answer). */
  delivery?: { attempts?: number; status?: number };
  /** service-* (the watchdog): the Vigil service the alert is about. */
  service?: string;
  /** breaker.opened / breaker.closed: the breaker (`service` and `name` as the event says). */
  /** `gone`: ended by the watchdog (no instance reports it open any more), not by a `breaker.closed`. */
  /** `openSince` (ms): on a closed notice, the first opening of the opening it ends. */
  /** `instance`: the service instance whose breaker it is, when the event names it (each replica has its own). */
  breaker?: { service: string; name: string; instance?: string; gone?: boolean; openSince?: number };
  /**
   * A failure that arrived after the recovery that ended it (notifier.ts noteResolution): when that recovery happened
   * (ISO 8601). Such an alert says so itself, so no resolved notice follows it.
   */
  alreadyResolvedAt?: string;
  /** notify.send recipients, used instead of the cascade. */
  recipients?: string[];
  /** Second half of the group key: the error type, or what stands in for it. */
  groupType: string;
  /** True when the alert is the sample sent by `vigil test-email`. */
  sample?: boolean;
  /**
   * Email only: never sent to ALERT_WEBHOOK_URL (neither as the fallback nor as the `always` copy). Set on the alert
   * about a lost fallback message, which must not go back to the webhook that just failed (lost-fallback.ts).
   */
  emailOnly?: boolean;
  /** webhook.dead of the notifier's own Slack message (eventType `vigil.alert`): which alert it carried. */
  lostFallback?: LostFallback;
}

export interface LostFallback {
  /** The dead webhook's id: `<notification id>.slack`. */
  webhookId: string;
  /** The notification (an event id, or a follow-up's id) the Slack message was for, read from the webhook id. */
  alertId: string;
  /** Why the webhooks service gave it up. */
  lastError: string;
}

/** Alerts of one group fold into one follow-up: same scope, same kind, same error type. */
export function groupKeyOf(alert: Pick<Alert, 'scope' | 'kind' | 'groupType'>): string {
  return `${alert.scope}|${alert.kind}|${alert.groupType}`;
}
