import type { SmtpStatus } from './smtp-channel.js';

/**
 * Readiness of the email channel. Open or half-open (a probe pending) means email does not work now: without a
 * fallback no alert reaches anyone, so the notifier is not ready and says why. With ALERT_WEBHOOK_URL alerts still
 * go out (as Slack messages), so it stays ready; the degraded email channel shows in `vigil health` and
 * GET /api/system/health as the open breaker (from the breaker.* events). Unless the fallback is known to fail
 * too (`fallbackFailure`: one of its messages was given up recently, none delivered since; lost-fallback.ts): then
 * no alert reaches anyone either, and the check fails naming both channels.
 */
export function smtpCheck(
  s: SmtpStatus,
  hasFallback: boolean,
  fallbackFailure?: { id: string; lastError: string },
): void {
  if (s.state === 'closed') return;
  if (hasFallback && !fallbackFailure) return;
  const since = new Date(s.since).toISOString();
  const reason = s.lastError ? `: ${s.lastError}` : '';
  if (hasFallback && fallbackFailure) {
    throw new Error(
      `SMTP failing (breaker ${s.state} since ${since}${reason}) and the ALERT_WEBHOOK_URL fallback failed too (webhook ${fallbackFailure.id} dead: ${fallbackFailure.lastError}); alerts wait until email works`,
    );
  }
  throw new Error(
    `SMTP breaker ${s.state}, email failing since ${since}${reason}; no ALERT_WEBHOOK_URL fallback, so alerts wait until email works`,
  );
}
