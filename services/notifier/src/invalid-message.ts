import { isRec, str } from './event-fields.js';
import type { EventLike } from './to-alert.js';

export const INVALID_MESSAGE_TITLE = 'an alert could not be read';
/** The dedupeKey, so the scope (`notify:invalid`) and group, of every refused notify.send: a storm folds into one. */
export const INVALID_MESSAGE_KEY = 'invalid';

/** A claimed field, as the sender wrote it, bounded (it is someone else's garbage). */
function claimed(v: unknown): string | undefined {
  const s = str(v);
  return s && s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

/**
 * A `notify.send` its schema refused (a missing title, a severity like "LOUD", a body that is not a string) never
 * reaches the handler: it is dead-lettered, and without a word someone's alert would be lost. What people are told
 * instead is a notify.send of the notifier's own (WARNING, default recipients, one group), so it takes the path every
 * message takes: dedupe (on its own id: a replay of the refused one is still a different event), grouping (a storm of
 * garbage is one email, then follow-ups), channels and the redrive while SMTP is down.
 */
export function invalidMessageEvent(event: { id: string; time: string; data: unknown }, err: Error): EventLike {
  const d = isRec(event.data) ? event.data : {};
  const title = claimed(d.title);
  const severity = claimed(d.severity);
  const details: Record<string, string> = { Reason: err.message };
  if (title) details['Claimed title'] = title;
  if (severity) details['Claimed severity'] = severity;
  details['Refused event id'] = event.id;
  details['Dead letter'] = '`vigil dlq list` (subject notify.send, with this reason)';
  const body = [
    `A program asked the notifier to send an alert (notify.send${title ? ` "${title}"` : ''}) that it could not read (Reason below), so nobody got that alert.`,
    'It is in the dead-letter queue: `vigil dlq list` shows it. Fix its sender so that it sends a valid notify.send (severity CRITICAL, WARNING or INFO, a non-empty title, a string body), then have it send the alert again; `vigil dlq replay <seq>` sends the same data as it was, so it is refused again unless the notifier now accepts it.',
  ].join('\n\n');
  return {
    id: `${event.id}.invalid`,
    time: event.time,
    subject: 'notify.send',
    data: { severity: 'WARNING', title: INVALID_MESSAGE_TITLE, body, dedupeKey: INVALID_MESSAGE_KEY, details },
  };
}
