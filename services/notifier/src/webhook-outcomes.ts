import type { NatsConnection } from 'nats';
import type { FallbackTracker } from './fallback-tracker.js';
import { deadReason, eventAt, FALLBACK_EVENT_TYPE, type FallbackHealth, isOwnFallback } from './lost-fallback.js';
import type { WebhookFates } from './webhook-fates.js';

const decoder = new TextDecoder();

/** `HTTP 500: …` / the network error of a failed attempt of a webhook (`webhook.attempt-failed`). */
function attemptError(data: Record<string, unknown>): string {
  const e = (data.error ?? {}) as { type?: unknown; message?: unknown };
  const status = typeof data.status === 'number' ? `HTTP ${data.status}` : undefined;
  const msg = typeof e.message === 'string' ? e.message : typeof e.type === 'string' ? e.type : 'failed';
  return status && !msg.includes(String(data.status)) ? `${status}: ${msg}` : msg;
}

export interface WebhookOutcomesOptions {
  /** This replica's Slack messages until delivered. */
  fallbacks: FallbackTracker;
  /** Readiness: whether the webhook fallback is known to fail. */
  fallbackHealth: FallbackHealth;
  /** Given-up webhooks delivered after all (replayed). */
  webhookFates: WebhookFates;
  now: () => number;
}

/**
 * Every replica follows the fate of the notifier's Slack messages (core NATS, no consumer: each replica must see
 * its own): readiness fails while SMTP fails and the fallback is known to fail too (given up, or failed attempts in
 * a row while retried; lost-fallback.ts). Returns the unsubscribe.
 */
export function followWebhookOutcomes(nc: NatsConnection, o: WebhookOutcomesOptions): () => void {
  const { fallbacks, fallbackHealth, webhookFates, now } = o;
  const subs = (['webhook.dead', 'webhook.delivered', 'webhook.attempt-failed'] as const).map((subject) =>
    nc.subscribe(subject, {
      callback: (_err, msg) => {
        if (!msg) return;
        try {
          const text = decoder.decode(msg.data);
          // most webhooks are not the notifier's: skip them before parsing, unless a given-up webhook is followed
          const own = text.includes(FALLBACK_EVENT_TYPE);
          if (!own && subject !== 'webhook.dead' && !webhookFates.watching) return;
          const ev = JSON.parse(text) as { time?: string; data?: Record<string, unknown> };
          const data = ev.data ?? {};
          const webhookId = typeof data.id === 'string' ? data.id : undefined;
          const ownFallback = own && isOwnFallback(data);
          const at = eventAt(data, ev.time, now());
          if (subject === 'webhook.attempt-failed') {
            if (!ownFallback) return;
            const error = attemptError(data);
            if (webhookId) fallbacks.attemptFailed(webhookId, error);
            // retried for up to days before webhook.dead: readiness must not wait for that to say alerts reach nobody
            const attempt = typeof data.attempt === 'number' ? data.attempt : undefined;
            fallbackHealth.noteAttemptFailed(webhookId ?? 'unknown', attempt, error, at);
            return;
          }
          if (webhookId && subject === 'webhook.dead') webhookFates.noteDead(webhookId);
          else if (webhookId) webhookFates.noteDelivered(webhookId, at);
          if (!ownFallback) return;
          if (subject === 'webhook.delivered') {
            if (webhookId) fallbacks.delivered(webhookId);
            fallbackHealth.noteDelivered(at);
          } else {
            if (webhookId) fallbacks.dead(webhookId);
            fallbackHealth.noteDead(String(data.id ?? 'unknown'), deadReason(data), at);
          }
        } catch {
          // not an event: nothing to learn from it
        }
      },
    }),
  );
  return () => {
    for (const sub of subs) sub.unsubscribe();
  };
}
