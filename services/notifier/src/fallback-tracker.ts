import { ErrorCode, errorCodeOf, type Logger, type VigilMetrics } from '@vigil/shared';
import type { Delivery } from './dispatcher.js';
import { keepNewest } from './keep-newest.js';
import { formatTime } from './render-email.js';

/** One Slack message of this replica's, from `webhook.send` until the webhooks service delivers it (or gives it up). */
interface Tracked {
  delivery: Delivery;
  /**
   * Never emailed from here: the `always` copy of an emailed alert, the note about refused recipients (people got the
   * email already), the SMTP breaker's own opened alert (its ✅ RESOLVED notice is the news once email works).
   */
  copy: boolean;
  queuedAt: number;
  failedAttempts: number;
  lastError?: string;
  state: 'pending' | 'delivered' | 'emailed' | 'dead';
}

export interface FallbackTally {
  /** Fallback messages (not copies) queued since `since`. */
  queued: number;
  delivered: number;
  /** Not delivered by the webhook (yet) when email came back: emailed instead. */
  emailed: number;
  /** Still waiting at the webhooks service, not emailed (yet). */
  pending: number;
  lastError?: string;
}

/**
 * Follows the Slack messages this replica handed to the webhooks service (`webhook.send` is only a hand-over): counts
 * `vigil_notifications_total{channel="webhook",result="sent"}` when one is delivered (`webhook.delivered`), and keeps
 * what each said, so that, once SMTP works again, the alerts whose fallback was not delivered are emailed
 * (`undelivered()`) instead of waiting for a webhook that may keep answering HTTP 500. In memory and bounded, like the
 * redrive: a replica that restarts forgets its list (those alerts are then only in Slack, or its dead letter's email).
 */
export class FallbackTracker {
  private readonly items = new Map<string, Tracked>();
  /** The run of emailUndelivered in progress. */
  private emailing?: Promise<void>;

  constructor(private readonly o: { metrics: VigilMetrics; now: () => number; logger: Logger; max?: number }) {}

  queued(webhookId: string, delivery: Delivery, copy: boolean): void {
    this.items.delete(webhookId);
    this.items.set(webhookId, { delivery, copy, queuedAt: this.o.now(), failedAttempts: 0, state: 'pending' });
    keepNewest(this.items, this.o.max ?? 1_000);
  }

  /** `webhook.attempt-failed` of a Slack message (any replica's: only this replica's are tracked). */
  attemptFailed(webhookId: string, error: string): void {
    const t = this.items.get(webhookId);
    if (!t || (t.state !== 'pending' && t.state !== 'emailed')) return;
    t.failedAttempts++;
    t.lastError = error;
  }

  /** `webhook.delivered`: counted as sent once, by the replica that queued it. */
  delivered(webhookId: string): void {
    const t = this.items.get(webhookId);
    if (!t || t.state === 'delivered' || t.state === 'dead') return;
    const wasEmailed = t.state === 'emailed';
    t.state = 'delivered';
    this.o.metrics.notificationsTotal.inc({ channel: 'webhook', severity: t.delivery.alert.severity, result: 'sent' });
    if (wasEmailed) {
      this.o.logger.info({ webhookId }, 'fallback Slack message delivered after its alert was emailed (one late copy)');
    }
  }

  /** `webhook.dead`: the webhooks service gave it up (lost-fallback.ts emails it if it was not emailed). */
  dead(webhookId: string): void {
    const t = this.items.get(webhookId);
    if (!t || t.state === 'delivered' || t.state === 'dead') return;
    t.state = 'dead';
    this.o.metrics.notificationsTotal.inc({
      channel: 'webhook',
      severity: t.delivery.alert.severity,
      result: 'failed',
    });
  }

  /**
   * Fallback messages not delivered so far (oldest first), each with the line its email carries. `markEmailed` after
   * it went out: it is not emailed twice; its webhook delivery, should it still happen, is then one late copy.
   */
  undelivered(): Array<{ webhookId: string; delivery: Delivery; fact: [string, string] }> {
    const out: Array<{ webhookId: string; delivery: Delivery; fact: [string, string] }> = [];
    for (const [webhookId, t] of this.items) {
      if (t.copy || t.state !== 'pending') continue;
      const why = t.failedAttempts
        ? `${t.failedAttempts} attempt(s) failed, last: ${t.lastError ?? 'unknown error'}`
        : 'no delivery confirmed yet';
      out.push({
        webhookId,
        delivery: t.delivery,
        fact: [
          'Webhook fallback',
          `sent to ALERT_WEBHOOK_URL at ${formatTime(t.queuedAt)} while email failed, not delivered there (${why}); emailed now that email works again. The webhooks service may still deliver that Slack message later (one late copy).`,
        ],
      });
    }
    return out;
  }

  markEmailed(webhookId: string): void {
    const t = this.items.get(webhookId);
    if (t?.state === 'pending') t.state = 'emailed';
  }

  /** What became of the fallback messages queued since `since` (ms): for the SMTP breaker's ✅ RESOLVED notice. */
  tally(since: number): FallbackTally | undefined {
    const out: FallbackTally = { queued: 0, delivered: 0, emailed: 0, pending: 0 };
    for (const t of this.items.values()) {
      if (t.copy || t.queuedAt < since) continue;
      out.queued++;
      if (t.state === 'delivered') out.delivered++;
      else if (t.state === 'emailed') out.emailed++;
      else if (t.state === 'pending') out.pending++;
      if (t.lastError) out.lastError = t.lastError;
    }
    return out.queued ? out : undefined;
  }

  /**
   * SMTP works again: the alerts whose Slack message was not delivered are emailed (email only, one at a time, with
   * a line saying why), so they do not wait for a webhook that may keep failing. Stops at the first that finds email
   * failing again (the next recovery tries the rest). One run at a time.
   */
  emailUndelivered(dispatcher: { deliver(d: Delivery): Promise<unknown> }, log: Logger): Promise<void> {
    if (this.emailing) return this.emailing;
    const run = async () => {
      const list = this.undelivered();
      if (list.length)
        log.info({ alerts: list.length }, 'SMTP is back: emailing alerts the webhook fallback has not delivered');
      for (const u of list) {
        try {
          await dispatcher.deliver({ ...u.delivery, extraFact: u.fact, emailOnly: true });
          this.markEmailed(u.webhookId);
        } catch (err) {
          log.warn({ err, webhookId: u.webhookId }, 'alert not delivered by the webhook fallback could not be emailed');
          if (errorCodeOf(err) === ErrorCode.ALL_CHANNELS_FAILED) return;
        }
      }
    };
    this.emailing = run().finally(() => {
      this.emailing = undefined;
    });
    return this.emailing;
  }
}
