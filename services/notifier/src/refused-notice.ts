import { type Logger, validAddress, type VigilMetrics } from '@vigil/shared';
import type { Delivery } from './dispatcher.js';
import { parseRecipientList } from './recipients.js';
import { alertMail, type RenderOptions, renderEmail } from './render-email.js';
import type { RefusedRecipient } from './sent-mail.js';
import type { SmtpChannel } from './smtp-channel.js';

/** `a@x (550 …), b@y (550 …)` */
export function refusedList(refused: RefusedRecipient[]): string {
  return refused.map((r) => `${r.address} (${r.reply})`).join(', ');
}

export interface RefusedNoticeOptions {
  smtp: Pick<SmtpChannel, 'send'>;
  metrics: VigilMetrics;
  /** ADMIN_EMAIL: told by email when there is no webhook. */
  adminEmail?: string;
  /**
   * Sends the alert to the webhook with `why` as the reason email failed (Dispatcher's webhook path); undefined when
   * the alert has no webhook (none configured, or an email-only alert).
   */
  toWebhook?: (why: Error, notePrefix: string) => Promise<void>;
  log: Pick<Logger, 'warn' | 'error'>;
}

/**
 * Some recipients of an emailed alert were refused by the mail server. Through the webhook (the channel that takes
 * over when email fails for everyone, so the natural one when it fails for some; in `always` mode this message is
 * the copy), with a line naming who was refused and why; without a webhook, by email to ADMIN_EMAIL when it is
 * neither refused nor already among the recipients. Never throws: the alert went out.
 */
export async function refusedNotice(
  o: RefusedNoticeOptions,
  d: Delivery,
  render: RenderOptions,
  refused: RefusedRecipient[],
  accepted: string[],
): Promise<void> {
  const { log } = o;
  const severity = d.alert.severity;
  const line = `the mail server refused ${refusedList(refused)}; ${accepted.join(', ') || 'the other recipients'} got the email`;
  if (o.toWebhook) {
    try {
      await o.toWebhook(new Error(line), 'Email partly refused');
      log.warn({ refused: refused.map((r) => r.address) }, 'refused recipients: alert also sent to the webhook');
    } catch (err) {
      o.metrics.notificationsTotal.inc({ channel: 'webhook', severity, result: 'failed' });
      log.error({ err }, 'refused recipients: the webhook could not take the alert either');
    }
    return;
  }
  const refusedSet = new Set(refused.map((r) => r.address.toLowerCase()));
  const admins = parseRecipientList(o.adminEmail)
    .map((a) => validAddress(a))
    .filter((a): a is string => a !== undefined);
  const known = new Set([...refusedSet, ...accepted.map((a) => a.toLowerCase())]);
  const to = admins.filter((a) => !known.has(a.toLowerCase()));
  if (!to.length) {
    log.warn(
      { refused: refused.map((r) => r.address) },
      'refused recipients: nobody else to tell (no webhook, no other ADMIN_EMAIL)',
    );
    return;
  }
  const alert = {
    ...d.alert,
    facts: [
      ...d.alert.facts,
      [
        'Refused recipients',
        `${line}. You get this copy as ADMIN_EMAIL: check those addresses (alerts.recipients or the alert secret).`,
      ] as [string, string],
    ],
  };
  try {
    await o.smtp.send(alertMail(alert, renderEmail(alert, render), to, d.id, '.refused'));
    o.metrics.notificationsTotal.inc({ channel: 'email', severity, result: 'sent' });
    log.warn({ to, refused: refused.map((r) => r.address) }, 'refused recipients: alert sent to ADMIN_EMAIL');
  } catch (err) {
    o.metrics.notificationsTotal.inc({ channel: 'email', severity, result: 'failed' });
    log.error({ err, to }, 'refused recipients: ADMIN_EMAIL could not be emailed either');
  }
}
