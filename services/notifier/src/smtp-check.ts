import type { SmtpStatus } from './smtp-channel.js';

/**
 * Readiness of the email channel. Open or half-open (a probe pending) means email does not work now: without a
 * fallback no alert reaches anyone, so the notifier is not ready and says why. With ALERT_WEBHOOK_URL alerts still
 * go out (as Slack messages), so it stays ready; the degraded email channel shows in `vigil health` and
 * GET /api/system/health as the open breaker (from the breaker.* events).
 */
export function smtpCheck(s: SmtpStatus, hasFallback: boolean): void {
  if (s.state === 'closed' || hasFallback) return;
  const reason = s.lastError ? `: ${s.lastError}` : '';
  throw new Error(
    `SMTP breaker ${s.state}, email failing since ${new Date(s.since).toISOString()}${reason}; no ALERT_WEBHOOK_URL fallback, so alerts wait until email works`,
  );
}
