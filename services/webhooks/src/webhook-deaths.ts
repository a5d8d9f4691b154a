import {
  ErrorCode,
  type Logger,
  PermanentError,
  RetriesExhaustedError,
  TransientError,
  toErrorInfo,
  type VigilError,
  type VigilMetrics,
  WEBHOOK_ID_PATTERN,
} from '@vigil/shared';
import { diedOfRetries } from './retry-policy.js';
import type { StatusStore } from './status-store.js';
import type { ParsedWebhookRequest, WebhookRequest } from './webhook-request.js';
import { type EventSink, localCall, publishEvent, type SendCommand, safeUrl } from './worker-io.js';

/** One webhook.dead per death: a repeat (a redelivery after a crash) carries the same msg id and is dropped. */
const deadMsgId = (id: string, deadAt: string | number) => `${id}.dead.${deadAt}`;

export interface DeathDeps {
  store: StatusStore;
  events: EventSink;
  log: Logger;
  now: () => number;
  localRetryMs: number;
  maxAgeMs: number;
  metrics?: VigilMetrics;
}

/**
 * A webhook's death, announced exactly once: `webhook.dead` under a msg id per death, marked in Redis, announced
 * again after a crash that cut it short; invalid commands and webhooks past their maximum age die here too.
 */
export class WebhookDeaths {
  constructor(private readonly d: DeathDeps) {}

  private local<T>(fn: () => Promise<T>): Promise<T> {
    return localCall(fn, this.d.localRetryMs);
  }

  /**
   * A delivery of a webhook already `dead`: the dead-lettering of an earlier delivery was cut short (crash), or a
   * twin command. A death not announced yet (the crash fell between the status write and webhook.dead) is
   * announced now, under the same msg id as the original (a repeat inside the duplicate window is dropped); then
   * the command is dead-lettered (the DLQ copy's msg id dedupes a repeat).
   */
  async redeadLetter(req: ParsedWebhookRequest, url: URL): Promise<never> {
    const notice = await this.local(() => this.d.store.deadNotice(req.id));
    const message = `webhook ${req.id} is dead: ${notice?.lastError ?? 'dead'}`;
    const details = { id: req.id, attempts: notice?.attempts, lastStatusCode: notice?.lastStatusCode };
    const exhausted = notice !== undefined && diedOfRetries(notice.attempts, notice.lastStatusCode);
    const attempts = notice?.attempts;
    const dead = exhausted
      ? new RetriesExhaustedError(message, { details, attempts })
      : new PermanentError(message, { code: ErrorCode.PERMANENT, details, attempts });
    if (notice && !notice.notified) {
      // The status keeps the last error's message, not its code: a death before any attempt (signing key) or a
      // refused address is re-announced under the dead letter's code, and the notifier reads its message.
      const code = notice.lastStatusCode !== undefined ? ErrorCode.HTTP_STATUS : dead.code;
      const error = {
        type: code,
        code,
        message: notice.lastError,
        class: exhausted ? ('transient' as const) : ('permanent' as const),
      };
      const at = notice.deadAt || this.d.now();
      if (!(await this.announce(req, url, notice.attempts, notice.lastStatusCode, dead, at, error))) {
        throw this.notAnnounced(req.id, dead);
      }
      if (notice.deadAt) await this.markAnnounced(req.id, notice.deadAt);
    }
    throw dead;
  }

  /**
   * Not delivered within maxAgeMs of being stored (an open breaker's waits burn no attempts, so a webhook to a
   * destination that stays down would wait until the stream's 7-day retention dropped it without a word): dead
   * now, announced (webhook.dead) and dead-lettered, from where a replay queues it again with a fresh age.
   */
  async expire(req: ParsedWebhookRequest, url: URL, why: string): Promise<void> {
    const state = await this.local(() => this.d.store.knownState(req.id));
    if (state === 'delivered') return;
    if (state === 'dead') return this.redeadLetter(req, url);
    const message = `not delivered within ${Math.round(this.d.maxAgeMs / 1000)} s of being queued (WEBHOOKS_MAX_AGE; ${why})`;
    const deadAt = this.d.now();
    await this.local(() => this.d.store.markDeadWithoutAttempt(req.id, message, deadAt, safeUrl(url), req.eventType));
    const notice = await this.local(() => this.d.store.deadNotice(req.id));
    const attempts = notice?.attempts ?? 0;
    this.d.metrics?.webhookDeliveriesTotal.inc({ result: 'dead' });
    const dead = new PermanentError(`webhook ${req.id} expired: ${message}`, {
      code: ErrorCode.WEBHOOK_EXPIRED,
      details: { id: req.id, attempts },
      attempts,
    });
    const error = {
      type: ErrorCode.WEBHOOK_EXPIRED,
      code: ErrorCode.WEBHOOK_EXPIRED,
      message,
      class: 'permanent' as const,
    };
    if (!(await this.announce(req, url, attempts, undefined, dead, deadAt, error)))
      throw this.notAnnounced(req.id, dead);
    await this.markAnnounced(req.id, deadAt);
    throw dead;
  }

  /** A dead webhook whose webhook.dead could not be published: kept (retried) so the notice is not lost. */
  notAnnounced(id: string, dead: VigilError): TransientError {
    return new TransientError(`webhook ${id} is dead; webhook.dead not published yet`, {
      retryAfterMs: this.d.localRetryMs,
      cause: dead,
    });
  }

  /** Best effort: without the mark, a later delivery announces again under the same msg id. */
  async markAnnounced(id: string, deadAt: string | number): Promise<void> {
    try {
      await this.d.store.markDeadNotified(id, deadAt);
    } catch (err) {
      this.d.log.warn({ err, id }, 'webhook.dead published but not marked in Redis');
    }
  }

  /**
   * An invalid command (too large, bad id or URL, or refused by the schema before the worker: `onInvalid`) is dead
   * on arrival: `webhook.dead` (attempts 0, with the reason) when it names enough to be found.
   */
  async refuseInvalid(cmd: SendCommand, err: unknown): Promise<void> {
    const data = (typeof cmd.data === 'object' && cmd.data !== null ? cmd.data : {}) as Record<string, unknown>;
    const id = typeof data.id === 'string' && data.id.length <= 200 ? data.id : cmd.id;
    const rawUrl = typeof data.url === 'string' ? data.url : '';
    let url = rawUrl.slice(0, 200);
    try {
      url = safeUrl(new URL(rawUrl));
    } catch {
      // keep the truncated text
    }
    const { stack: _stack, ...error } = toErrorInfo(err);
    const eventType = typeof data.eventType === 'string' ? data.eventType.slice(0, 200) : undefined;
    await this.recordRefusal(id, url, eventType, error.message);
    await publishEvent(this.d, 'webhook.dead', {
      id,
      url,
      eventType,
      at: new Date(this.d.now()).toISOString(),
      attempts: 0,
      error,
      lastError: error.message,
    });
  }

  /**
   * Best effort: `GET /api/webhooks/<id>` of a refused command says dead and why, as for one sent over HTTP, instead
   * of "unknown". Never over a known id (a bad twin of a delivered webhook leaves it delivered); Redis being away
   * costs only the status, not the notice or the dead letter.
   */
  private async recordRefusal(id: string, url: string, eventType: string | undefined, message: string) {
    if (!WEBHOOK_ID_PATTERN.test(id)) return;
    try {
      if ((await this.d.store.knownState(id)) !== undefined) return;
      await this.d.store.markDeadWithoutAttempt(id, message, this.d.now(), url, eventType ?? '');
    } catch (err) {
      this.d.log.warn({ err, id }, 'refused webhook not recorded in its status');
    }
  }

  async announce(
    req: WebhookRequest,
    url: URL,
    attempts: number,
    status: number | undefined,
    err: unknown,
    deadAt: string | number,
    /** The event's error, when not the dead error's own; its `code` (a VIGIL_E_ code) is what the notifier's advice follows. */
    error?: { type: string; message: string; class: 'transient' | 'permanent'; code?: string },
  ): Promise<boolean> {
    const { stack: _stack, ...info } = toErrorInfo(err);
    return publishEvent(
      this.d,
      'webhook.dead',
      {
        id: req.id,
        url: safeUrl(url),
        eventType: req.eventType,
        at: new Date(this.d.now()).toISOString(),
        attempts,
        ...(status !== undefined ? { status, lastStatusCode: status } : {}),
        error: error ?? info,
        lastError: (error ?? info).message,
      },
      deadMsgId(req.id, deadAt),
    );
  }
}
