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
import { FALLBACK_ID_SUFFIX, type FallbackRecord, fallbackRecordOf } from './lost-fallback.js';
import type { RecipientLookup } from './recipient-lookup.js';
import { skippedSecretNote } from './recipients.js';
import { type RenderOptions, renderEmail } from './render-email.js';
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
}

export interface Delivery {
  /** Id of the notification: the event id, or a follow-up's id. Idempotency key of the fallback. */
  id: string;
  alert: Alert;
  followUp?: RenderOptions['followUp'];
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
  ): Promise<void> {
    const { alert } = d;
    const slack = renderSlack(alert, render);
    const reason = emailError === undefined ? undefined : failureReason(emailError);
    const message = reason === undefined ? slack : withEmailFailure(slack, reason);
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
    this.o.metrics.notificationsTotal.inc({ channel: 'webhook', severity: alert.severity, result: 'sent' });
    await this.publishQuietly('notification.sent', {
      ...common,
      channel: 'webhook',
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
    const mail = renderEmail(note ? { ...alert, facts: [...alert.facts, note] } : alert, render);
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
    const webhookUrl = alert.emailOnly ? undefined : this.o.webhookUrl;

    if (resolved.recipients.length) {
      try {
        const info = await this.o.smtp.send({
          to: resolved.recipients,
          subject: mail.subject,
          html: mail.html,
          text: mail.text,
          headers: { 'X-Vigil-Event-Id': alert.eventId, 'X-Vigil-Severity': severity },
          messageId: `<${d.id.replace(/[^A-Za-z0-9._-]/g, '_')}@vigil.notifier>`,
        });
        this.o.metrics.notificationsTotal.inc({ channel: 'email', severity, result: 'sent' });
        await this.publishQuietly('notification.sent', {
          ...common,
          channel: 'email',
          recipients: resolved.recipients,
          recipientLevel: resolved.level,
          messageId: info.messageId,
          at: new Date(this.o.now()).toISOString(),
        });
        log.info({ to: resolved.recipients, recipientLevel: resolved.level, subject: mail.subject }, 'alert emailed');
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
