import { createHash } from 'node:crypto';
import {
  currentCorrelationId,
  ErrorCode,
  type EventBus,
  type Logger,
  PermanentError,
  TransientError,
  toErrorInfo,
  type VigilMetrics,
} from '@vigil/shared';
import type { Alert } from './alert.js';
import { failureReason, withEmailFailure } from './fallback-note.js';
import type { FallbackTracker } from './fallback-tracker.js';
import { FALLBACK_ID_SUFFIX, type FallbackRecord, fallbackRecordOf } from './lost-fallback.js';
import type { RecipientLookup } from './recipient-lookup.js';
import { fallbackTallyNote, isOwnSmtpOpened, ownSmtpStateNote } from './own-smtp-notes.js';
import { invalidJobRecipientsNote, skippedSecretNote } from './recipients.js';
import { refusedList, refusedNotice } from './refused-notice.js';
import { alertMail, type RenderOptions, renderEmail } from './render-email.js';
import { renderSlack } from './slack-message.js';
import type { SmtpChannel } from './smtp-channel.js';
import { sendToWebhook } from './webhook-channel.js';

export interface DispatcherOptions {
  bus: EventBus;
  smtp: SmtpChannel;
  recipients: RecipientLookup;
  webhookUrl?: string;
  /** `fallback`: the webhook gets an alert only when email failed; `always`: every alert also goes to it. */
  webhookMode?: 'fallback' | 'always';
  publicUrl: string;
  /** The CLI command in re-run lines (ALERT_CLI). */
  cli?: string;
  metrics: VigilMetrics;
  logger: Logger;
  now: () => number;
  /**
   * Keeps what each Slack message was about (the dedupe KV), so that the email about one the webhooks service gives
   * up says what it said (lost-fallback.ts). Best effort: without it that email names the alert id only.
   */
  fallbackLog?: { recordFallback(webhookId: string, record: FallbackRecord): Promise<void> };
  /**
   * ADMIN_EMAIL: who is told, without a webhook, that the mail server refused some recipients of an alert the others
   * got (refusedNotice). Absent: the refusal is logged and counted only.
   */
  adminEmail?: string;
  /**
   * Follows this replica's Slack messages until delivered: counts them sent on delivery, and lists the undelivered
   * ones to email once SMTP works again (fallback-tracker.ts).
   */
  fallbacks?: FallbackTracker;
}

export interface Delivery {
  /** Id of the notification: the event id, or a follow-up's id. Idempotency key of the fallback. */
  id: string;
  alert: Alert;
  followUp?: RenderOptions['followUp'];
  /** A line added to this delivery only (e.g. why an alert handed to the webhook is emailed after all). */
  extraFact?: [string, string];
  /** Email only: never the webhook (the alert went there already). */
  emailOnly?: boolean;
}

/** KV/header-safe, and short enough for the webhooks service's id limit. */
function shortId(id: string): string {
  return /^[-_.a-zA-Z0-9]{1,150}$/.test(id) ? id : createHash('sha256').update(id).digest('hex').slice(0, 40);
}

/**
 * Sends one notification through the first channel that works: email to the resolved recipients, then the
 * Slack-compatible webhook. Publishes `notification.sent` for the channel that took it, `notification.failed`
 * when none did, and then throws so the caller keeps the message (nak) for a later try.
 *
 * The webhook counts as taking it once its `webhook.send` is queued; should the webhooks service give it up, the
 * `webhook.dead` comes back as an email-only alert that says what the message was about (lost-fallback.ts), and that
 * one waits for email (never the webhook again).
 */
export class Dispatcher {
  constructor(private readonly o: DispatcherOptions) {}

  private async publishQuietly(subject: string, data: Record<string, unknown>): Promise<void> {
    try {
      await this.o.bus.publish(subject, data);
    } catch (err) {
      this.o.logger.warn({ err, subject }, 'could not publish notification outcome');
    }
  }

  /**
   * The Slack-compatible message to ALERT_WEBHOOK_URL (through the webhooks service), and `notification.sent`.
   * `emailError`: why email failed, when this is the fallback (not the copy of an emailed alert).
   */
  private async toWebhook(
    d: Delivery,
    render: RenderOptions,
    common: Record<string, unknown>,
    emailError?: unknown,
    notePrefix?: string,
  ): Promise<void> {
    const { alert } = d;
    const slack = renderSlack(alert, render);
    const reason = emailError === undefined ? undefined : failureReason(emailError);
    const message = reason === undefined ? slack : withEmailFailure(slack, reason, notePrefix);
    const webhookId = `${shortId(d.id)}${FALLBACK_ID_SUFFIX}`;
    if (this.o.fallbackLog) {
      const record = fallbackRecordOf(d.id, alert, String(common.subject), reason, this.o.now());
      await this.o.fallbackLog.recordFallback(webhookId, record).catch((err: unknown) => {
        this.o.logger.warn(
          { err, webhookId },
          'fallback message not recorded: if it is lost, its email names the id only',
        );
      });
    }
    await sendToWebhook(this.o.bus, this.o.webhookUrl as string, webhookId, message);
    // handed to the webhooks service, not delivered: `sent` is counted on its webhook.delivered (fallback-tracker.ts)
    this.o.metrics.notificationsTotal.inc({ channel: 'webhook', severity: alert.severity, result: 'queued' });
    // A copy (always mode) or the refused-recipients note: the alert was emailed, never emailed again from here; nor
    // the SMTP breaker's own opened alert (once email works, its ✅ RESOLVED notice is the news).
    this.o.fallbacks?.queued(
      webhookId,
      d,
      emailError === undefined || notePrefix !== undefined || isOwnSmtpOpened(alert),
    );
    await this.publishQuietly('notification.sent', {
      ...common,
      channel: 'webhook',
      delivery: 'queued',
      recipients: [],
      at: new Date(this.o.now()).toISOString(),
    });
  }

  async deliver(d: Delivery): Promise<{ channel: 'email' | 'webhook' }> {
    const { alert } = d;
    const fields: Record<string, unknown> = { eventId: alert.eventId, job: alert.job, notificationId: d.id };
    if (alert.run?.runId) fields.runId = alert.run.runId;
    // Inside the consumed event's scope (not when a grouped follow-up is flushed later by a timer).
    const correlationId = currentCorrelationId();
    if (correlationId) fields.correlationId = correlationId;
    const log = this.o.logger.child(fields);
    const severity = alert.severity;
    const render = { publicUrl: this.o.publicUrl, cli: this.o.cli, followUp: d.followUp };
    const resolved = await this.o.recipients.resolve(alert);
    const note = skippedSecretNote(resolved);
    const stateNote = ownSmtpStateNote(alert, this.o.smtp);
    const invalidNote = invalidJobRecipientsNote(resolved, alert.job);
    const tallyNote = fallbackTallyNote(alert, this.o.fallbacks);
    const extra = [note, invalidNote, stateNote, tallyNote, d.extraFact].filter(
      (f): f is [string, string] => f !== undefined,
    );
    const mail = renderEmail(extra.length ? { ...alert, facts: [...alert.facts, ...extra] } : alert, render);
    const common = {
      eventId: alert.eventId,
      sourceEventId: alert.eventId,
      sourceSubject: alert.subject,
      severity,
      title: alert.headline,
      subject: mail.subject,
    };
    const errors: unknown[] = [];
    // An email-only alert (about a lost Slack message) never goes to the webhook: it waits for email instead.
    const webhookUrl = alert.emailOnly || d.emailOnly ? undefined : this.o.webhookUrl;

    if (resolved.recipients.length) {
      try {
        const info = await this.o.smtp.send(alertMail(alert, mail, resolved.recipients, d.id));
        const refused = info.refused ?? [];
        const accepted = refused.length ? (info.accepted ?? []) : resolved.recipients;
        this.o.metrics.notificationsTotal.inc({ channel: 'email', severity, result: 'sent' });
        if (refused.length) {
          // nodemailer resolves once one recipient was accepted: the refused ones must not vanish silently
          this.o.metrics.notificationsTotal.inc({ channel: 'email', severity, result: 'rejected' }, refused.length);
          log.warn(
            { refused, to: accepted, subject: mail.subject },
            `mail server refused ${refused.length} recipient(s) of the alert (${refusedList(refused)}); the others got it`,
          );
        }
        await this.publishQuietly('notification.sent', {
          ...common,
          channel: 'email',
          recipients: accepted,
          ...(refused.length ? { refused } : {}),
          recipientLevel: resolved.level,
          messageId: info.messageId,
          at: new Date(this.o.now()).toISOString(),
        });
        log.info({ to: accepted, recipientLevel: resolved.level, subject: mail.subject }, 'alert emailed');
        if (refused.length) {
          // Refused recipients are told like people whose email failed: the webhook fallback (as when every
          // recipient is refused), else ADMIN_EMAIL; never by failing the alert (the others have it).
          const toWebhook = webhookUrl
            ? (why: Error, notePrefix: string) => this.toWebhook(d, render, common, why, notePrefix)
            : undefined;
          const { smtp, metrics, adminEmail } = this.o;
          await refusedNotice({ smtp, metrics, adminEmail, toWebhook, log }, d, render, refused, accepted);
          return { channel: 'email' };
        }
        if (webhookUrl && this.o.webhookMode === 'always') {
          // A copy for a monitoring tool: the alert already reached people, so a failure here is reported, not retried
          // (retrying would email them again).
          await this.toWebhook(d, render, common).catch((err: unknown) => {
            this.o.metrics.notificationsTotal.inc({ channel: 'webhook', severity, result: 'failed' });
            log.warn({ err }, 'webhook copy of an emailed alert failed');
          });
        }
        return { channel: 'email' };
      } catch (err) {
        errors.push(err);
        this.o.metrics.notificationsTotal.inc({ channel: 'email', severity, result: 'failed' });
        log.warn({ err }, 'email channel failed');
      }
    } else {
      // Nobody configured is permanent (dead-lettered, with the error log below). A level that could not be read
      // (the secrets service is down, seed 000) is not: the alert is retried until its recipients are known.
      const err = resolved.unavailable
        ? new TransientError('alert recipients unavailable (the recipients secret could not be read)', {
            code: ErrorCode.NO_RECIPIENTS,
          })
        : new PermanentError('no valid alert recipient at any level of the cascade', {
            code: ErrorCode.NO_RECIPIENTS,
          });
      errors.push(err);
      this.o.metrics.notificationsTotal.inc({ channel: 'email', severity, result: 'failed' });
      log.error(
        { invalid: resolved.invalid, problems: resolved.problems },
        'NO RECIPIENTS for alert: set the job alerts.recipients, the alert secret, ADMIN_EMAIL or DEV_EMAIL_ADDRESSES',
      );
      await this.publishQuietly('notification.failed', {
        ...common,
        channel: 'email',
        recipients: [],
        error: toErrorInfo(err),
        at: new Date(this.o.now()).toISOString(),
      });
    }

    if (webhookUrl) {
      try {
        await this.toWebhook(d, render, common, errors[0]);
        log.warn('alert sent through the webhook fallback');
        return { channel: 'webhook' };
      } catch (err) {
        errors.push(err);
        this.o.metrics.notificationsTotal.inc({ channel: 'webhook', severity, result: 'failed' });
        log.error({ err }, 'webhook fallback failed');
      }
    }

    // Only "nobody to send to" is final; a channel's own failure (an SMTP 5xx included) is retried.
    const onlyNoRecipients =
      errors.length === 1 &&
      errors[0] instanceof PermanentError &&
      (errors[0] as PermanentError).code === ErrorCode.NO_RECIPIENTS;
    if (onlyNoRecipients) throw errors[0];
    const err = new TransientError(`every channel failed for alert ${alert.eventId}`, {
      code: ErrorCode.ALL_CHANNELS_FAILED,
      cause: errors[errors.length - 1],
    });
    log.error({ err, channels: webhookUrl ? ['email', 'webhook'] : ['email'] }, 'ALERT NOT DELIVERED yet; will retry');
    await this.publishQuietly('notification.failed', {
      ...common,
      channel: webhookUrl ? 'all' : 'email',
      recipients: resolved.recipients,
      error: toErrorInfo(err),
      at: new Date(this.o.now()).toISOString(),
    });
    throw err;
  }
}
