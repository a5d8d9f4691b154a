import {
  backoffDelay,
  ErrorCode,
  type Logger,
  PermanentError,
  RetriesExhaustedError,
  retry,
  TransientError,
  type VigilMetrics,
} from '@vigil/shared';
import type { SendResult } from './http-sender.js';
import type { Decision } from './retry-policy.js';
import type { StatusStore } from './status-store.js';
import type { WebhookDeaths } from './webhook-deaths.js';
import type { WebhookRequest } from './webhook-request.js';
import { type EventSink, publishEvent, safeUrl } from './worker-io.js';

export interface SettlementDeps {
  store: StatusStore;
  events: EventSink;
  now: () => number;
  metrics?: VigilMetrics;
  log: Logger;
  /** How long a settle keeps retrying its status write after the outcome is known (see `persist`). */
  settleRetryMs: number;
}

/**
 * An attempt's outcome made durable: the status in Redis, the event on NATS, and what the delivery of the command
 * does next (resolve = ack, TransientError = retry at the decided time, a dead error = dead-letter).
 */
export class AttemptSettlement {
  constructor(
    private readonly d: SettlementDeps,
    private readonly deaths: WebhookDeaths,
  ) {}

  /**
   * Records a known outcome. The POST has happened, so a failing status write (a Redis blip) must not be
   * answered by running the delivery again: that would re-POST a delivered webhook, ignore the receiver's
   * Retry-After/backoff, or make one attempt past the limit. The write is retried here (persist); if it still
   * fails, the outcome wins over the status: delivered → ack (the receiver has it; the status shows `pending`
   * until its TTL), retry → nak with the decided delay (the unreleased lease may hold the next attempt back
   * until it expires, never make it earlier), dead → dead-letter as usual (the DLQ is the record).
   */
  async settle(req: WebhookRequest, url: URL, attempt: number, result: SendResult, decision: Decision, owner: string) {
    const now = this.d.now();
    const statusCode = result.outcome.kind === 'response' ? result.outcome.status : undefined;
    const rec = { statusCode, durationMs: result.durationMs };
    const base = { id: req.id, url: safeUrl(url), eventType: req.eventType, at: new Date(now).toISOString() };
    const durationMs = Math.round(result.durationMs);

    if (decision.action === 'delivered') {
      // Both before the ack, side by side: the event never depends on the status write and vice versa.
      await Promise.all([
        this.persist('delivered', req.id, () => this.d.store.markDelivered(req.id, rec, now)),
        this.emit('webhook.delivered', { ...base, attempt, status: statusCode ?? 0, durationMs }),
      ]);
      this.d.metrics?.webhookDeliveriesTotal.inc({ result: 'delivered' });
      return;
    }

    const message = result.excerpt
      ? `${decision.action === 'retry' ? decision.reason : decision.message}: ${result.excerpt}`
      : decision.action === 'retry'
        ? decision.reason
        : decision.message;
    // The code the notifier's advice follows: the SSRF guard refused the address (at connect time), or the receiver
    // answered; a network error has none (its type is the errno: ECONNREFUSED, UND_ERR_CONNECT_TIMEOUT…).
    const code =
      result.outcome.kind === 'refused'
        ? ErrorCode.WEBHOOK_URL_REFUSED
        : result.outcome.kind === 'response'
          ? ErrorCode.HTTP_STATUS
          : undefined;
    const type = code ?? (result.outcome.kind === 'network' ? result.outcome.code : undefined) ?? 'NetworkError';
    const error = {
      type,
      ...(code ? { code } : {}),
      // the type is shown before the message ("TIMEOUT: …"): the message does not say it again
      message: message.startsWith(`${type}: `) ? message.slice(type.length + 2) : message,
      // retries used up on a failure that may pass (network, 5xx) is still that kind of failure: the destination
      // may well take a replay later; only a refusal (4xx, refused URL) is permanent
      class:
        decision.action === 'retry' || decision.reason === 'exhausted'
          ? ('transient' as const)
          : ('permanent' as const),
    };
    if (decision.action === 'retry') {
      const next = now + decision.delayMs;
      await this.persist('failed', req.id, () =>
        this.d.store.markFailed(req.id, 'failed', { ...rec, error: message }, now, next, owner),
      );
      this.d.metrics?.webhookDeliveriesTotal.inc({ result: 'retry' });
      await this.emit('webhook.attempt-failed', {
        ...base,
        attempt,
        ...(statusCode !== undefined ? { status: statusCode } : {}),
        error,
        nextAttemptAt: new Date(next).toISOString(),
        durationMs,
      });
      throw new TransientError(`attempt ${attempt} failed: ${message}`, { retryAfterMs: decision.delayMs });
    }

    const recorded = await this.persist('dead', req.id, () =>
      this.d.store.markFailed(req.id, 'dead', { ...rec, error: message }, now, undefined, owner),
    );
    this.d.metrics?.webhookDeliveriesTotal.inc({ result: 'dead' });
    await this.emit('webhook.attempt-failed', {
      ...base,
      attempt,
      ...(statusCode !== undefined ? { status: statusCode } : {}),
      error,
      durationMs,
    });
    const details = { id: req.id, attempts: attempt, lastStatusCode: statusCode };
    // The dead letter's class says the same as webhook.dead: used-up retries of a failure that may pass stay
    // transient (a replay may succeed), only a refusal is permanent.
    const dead =
      decision.reason === 'exhausted'
        ? new RetriesExhaustedError(`webhook ${req.id} gave up after ${attempt} attempts: ${message}`, {
            details,
            attempts: attempt,
          })
        : new PermanentError(`webhook ${req.id} permanent failure: ${message}`, {
            code: ErrorCode.HTTP_STATUS,
            details,
            attempts: attempt,
          });
    if (await this.deaths.announce(req, url, attempt, statusCode, dead, now, error)) {
      if (recorded) await this.deaths.markAnnounced(req.id, now);
    } else if (recorded) {
      // Not announced: dead-lettering now would lose the notice. The redelivery finds `dead` (nothing is sent
      // again) and publishes it (redeadLetter).
      throw this.deaths.notAnnounced(req.id, dead);
    }
    throw dead;
  }

  /** Retries a settle's status write for up to settleRetryMs; false (logged) when it never succeeded. */
  private async persist(state: string, id: string, write: () => Promise<void>): Promise<boolean> {
    const deadline = Date.now() + this.d.settleRetryMs;
    const backoff = { base: 100, cap: 2_000, jitter: 'none' } as const;
    let calls = 0;
    try {
      await retry(
        () => {
          calls++;
          return write();
        },
        {
          max: Number.POSITIVE_INFINITY,
          ...backoff,
          retryAfter: () => undefined,
          // any failure of the write is retried, as long as the next wait still ends before the deadline
          shouldRetry: () => Date.now() + backoffDelay(calls, backoff) <= deadline,
        },
      );
      return true;
    } catch (err) {
      this.d.log.error({ err, id, state }, 'webhook outcome not recorded in Redis; settling by the outcome');
      return false;
    }
  }

  private emit(subject: string, data: Record<string, unknown>): Promise<boolean> {
    return publishEvent(this.d, subject, data);
  }
}
