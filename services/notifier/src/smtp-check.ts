import type { FallbackFailure } from './lost-fallback.js';
import type { SmtpStatus } from './smtp-channel.js';

/**
 * Readiness of the email channel. Open or half-open (a probe pending) means email does not work now: without a
 * fallback no alert reaches anyone, so the notifier is not ready and says why. With ALERT_WEBHOOK_URL alerts still
 * go out (as Slack messages), so it stays ready; the degraded email channel shows in `vigil health` and
 * GET /api/system/health as the open breaker (from the breaker.* events). Unless the fallback is known to fail
 * too (`fallbackFailure`, lost-fallback.ts: one of its messages was given up recently, or its last attempts failed
 * in a row while the webhooks service keeps retrying, none delivered since): then no alert reaches anyone either,
 * and the check fails naming both channels. Given up and retrying read differently: a retried message may still
 * get through by itself, a given-up one waits for email (or a replay).
 */
export function smtpCheck(s: SmtpStatus, hasFallback: boolean, fallbackFailure?: FallbackFailure): void {
  if (s.state === 'closed') return;
  if (hasFallback && !fallbackFailure) return;
  const since = new Date(s.since).toISOString();
  const reason = s.lastError ? `: ${s.lastError}` : '';
  if (hasFallback && fallbackFailure?.kind === 'retrying') {
    const f = fallbackFailure;
    const attempt = f.attempt !== undefined ? `attempt ${f.attempt}: ` : '';
    throw new Error(
      `SMTP failing (breaker ${s.state} since ${since}${reason}) and the ALERT_WEBHOOK_URL fallback is failing too (${f.failedInRow} failed attempts in a row, none delivered since; webhook ${f.id} failing, retrying (${attempt}${f.lastError})); alerts reach nobody until email or the webhook works again`,
    );
  }
  if (hasFallback && fallbackFailure) {
    throw new Error(
      `SMTP failing (breaker ${s.state} since ${since}${reason}) and the ALERT_WEBHOOK_URL fallback failed too (webhook ${fallbackFailure.id} dead: ${fallbackFailure.lastError}); alerts wait until email works`,
    );
  }
  throw new Error(
    `SMTP breaker ${s.state}, email failing since ${since}${reason}; no ALERT_WEBHOOK_URL fallback, so alerts wait until email works`,
  );
}
