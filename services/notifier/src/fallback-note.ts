import { errorMessage, scrubSecrets } from '@vigil/shared';
import { escapeMrkdwn, type SlackMessage } from './slack-message.js';

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/**
 * An error and its causes as one line, each message once: "breaker smtp is open: SMTP send failed: connect
 * ECONNREFUSED 127.0.0.1:1025" (a wrapper that already quotes its cause does not repeat it).
 */
export function failureReason(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 4; depth++) {
    const m = errorMessage(e).trim();
    if (m && !parts.some((p) => p.includes(m))) parts.push(m);
    e = e instanceof Error ? e.cause : undefined;
  }
  // Chat rooms are wider audiences than logs: no secret value may ride along with an error text.
  return scrubSecrets(parts.join(': ') || 'unknown error');
}

/**
 * Marks a fallback message as such, so whoever reads it in chat also learns that email is broken, and why: a line
 * under the header and at the end of `text` (what notifications, Mattermost and Rocket.Chat show).
 */
export function withEmailFailure(
  message: SlackMessage,
  reason: string,
  prefix = 'Email delivery failed',
): SlackMessage {
  const line = `${prefix}: ${clip(reason, 500)}; this message came through the fallback webhook.`;
  const note = `⚠️ ${escapeMrkdwn(line)}`;
  const [header, ...rest] = message.blocks;
  return {
    text: `${clip(message.text, 3000 - note.length - 1)}\n${note}`,
    blocks: header
      ? [header, { type: 'section', text: { type: 'mrkdwn', text: note } }, ...rest]
      : [{ type: 'section', text: { type: 'mrkdwn', text: note } }],
  };
}
