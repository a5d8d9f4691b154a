import { ErrorCode, type EventBus, errorCodeOf, type Logger } from '@vigil/shared';
import { invalidMessageEvent } from './invalid-message.js';
import type { Notifier } from './notifier.js';
import type { Redrive } from './redrive.js';
import { smtpSendBudgetMs } from './smtp-transport.js';
import { durableName, maxDeliverFor, REDELIVERY_BACKOFF_MS, SUBSCRIPTIONS } from './subscriptions.js';
import type { EventLike } from './to-alert.js';

export interface AlertConsumersOptions {
  bus: EventBus;
  notifier: Pick<Notifier, 'handle'>;
  /** Keeps the alerts every channel failed for, to send them as soon as SMTP recovers. */
  redrive: Pick<Redrive, 'remember' | 'forget'>;
  /** ALERT_MAX_AGE: deliveries are allowed for as long as an alert is worth sending. */
  maxAgeMs: number;
  /** SMTP_TIMEOUT: the ack wait leaves room for every SMTP attempt. */
  smtpTimeoutMs: number;
  /** Where a refused notify.send is logged (it has no consumer context). */
  logger: Logger;
}

/** One durable consumer per subscribed subject family; each event goes through Notifier.handle. */
export async function consumeAlerts(o: AlertConsumersOptions): Promise<void> {
  const { notifier, redrive } = o;
  const handle = async (subject: string, event: EventLike, log: Logger, deliveries: number, correlationId: string) => {
    try {
      await notifier.handle(subject, event, log, deliveries);
    } catch (err) {
      // Every channel failed: besides the broker's redelivery (nak), it goes out as soon as SMTP recovers.
      if (errorCodeOf(err) === ErrorCode.ALL_CHANNELS_FAILED) {
        redrive.remember(subject, event, deliveries, correlationId);
      } else {
        redrive.forget(event.id);
      }
      throw err;
    }
    redrive.forget(event.id);
  };
  for (const s of SUBSCRIPTIONS) {
    await o.bus.consume({
      subject: s.subject,
      durable: durableName(s.family),
      handler: (event, ctx) => handle(ctx.subject, event, ctx.log, ctx.deliveryCount, ctx.correlationId),
      // A notify.send the schema refuses is dead-lettered before the handler: people are told (one group, one
      // email plus follow-ups), since its sender's alert reaches nobody. It has no redelivery of its own: only the
      // redrive sends it later when every channel fails now.
      ...(s.subject === 'notify.send'
        ? {
            onInvalid: (event: { id: string; time: string; data: unknown }, err: Error) => {
              const told = invalidMessageEvent(event, err);
              const log = o.logger.child({ eventId: event.id, subject: s.subject, notificationId: told.id });
              return handle(s.subject, told, log, 1, event.id);
            },
          }
        : {}),
      maxDeliver: maxDeliverFor(o.maxAgeMs),
      // Room for 3 SMTP attempts, each at its bound, before the broker redelivers.
      ackWaitMs: Math.max(60_000, smtpSendBudgetMs(o.smtpTimeoutMs) + 5_000),
      backoffMs: REDELIVERY_BACKOFF_MS,
      concurrency: s.family === 'job-failed' ? 16 : 4,
      // From the start of the stream: an alert published before the notifier's first start is not lost.
      // Events older than ALERT_MAX_AGE go into one digest email instead (no flood of week-old failures).
      deliverPolicy: 'all',
    });
  }
}
