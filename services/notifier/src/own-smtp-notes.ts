import type { Alert } from './alert.js';
import { OWN_SMTP_BREAKER_SCOPE } from './breaker-notices.js';
import type { FallbackTracker } from './fallback-tracker.js';
import { formatTime } from './render-email.js';
import type { SmtpStatus } from './smtp-channel.js';

/** The opened alert of the notifier's own SMTP breaker (`notifier/smtp`). */
export function isOwnSmtpOpened(alert: Alert): boolean {
  return alert.kind === 'breaker-opened' && alert.scope === OWN_SMTP_BREAKER_SCOPE;
}

/**
 * The opened alert of the notifier's own SMTP breaker is emailed only once mail works again: the email says what
 * the breaker's state was when it was sent (known at delivery, not when the event was raised).
 */
export function ownSmtpStateNote(alert: Alert, smtp: { status(): SmtpStatus }): [string, string] | undefined {
  if (!isOwnSmtpOpened(alert)) return undefined;
  const s = smtp.status();
  return [
    'SMTP breaker when sent',
    s.state === 'closed'
      ? `closed again: email works since ${formatTime(s.since)}`
      : `${s.state} (email failing since ${formatTime(s.since)}); this email got through as its trial call`,
  ];
}

/**
 * The ✅ RESOLVED notice of the notifier's own SMTP breaker says what became of the alerts this replica handed to
 * the webhook fallback during the outage: delivered there, or not (emailed now instead).
 */
export function fallbackTallyNote(
  alert: Alert,
  fallbacks: Pick<FallbackTracker, 'tally'> | undefined,
): [string, string] | undefined {
  if (alert.kind !== 'breaker-closed' || alert.scope !== OWN_SMTP_BREAKER_SCOPE || !fallbacks) return undefined;
  const t = fallbacks.tally(alert.breaker?.openSince ?? 0);
  if (!t) return undefined;
  const parts = [`${t.delivered} delivered to ALERT_WEBHOOK_URL`];
  const notDelivered = t.emailed + t.pending;
  if (notDelivered) {
    parts.push(
      `${notDelivered} not delivered there${t.lastError ? ` (last: ${t.lastError})` : ''}: being emailed now that email works again`,
    );
  }
  return [
    'Webhook fallback',
    `${t.queued} alert(s) handed to it during the outage (besides this breaker's own): ${parts.join('; ')}`,
  ];
}
