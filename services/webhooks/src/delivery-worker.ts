import { randomUUID } from 'node:crypto';
import {
  classify,
  DeferredError,
  ErrorCode,
  type Logger,
  TransientError,
  VigilError,
  type VigilMetrics,
} from '@vigil/shared';
import type { Destination, DestinationBreakers } from './destination-breakers.js';
import type { DestinationSlots } from './destination-slots.js';
import type { SendResult } from './http-sender.js';
import type { ParkingLot } from './parking-lot.js';
import { decide, type RetryPolicy } from './retry-policy.js';
import { signatureHeaders } from './signing.js';
import { type SigningKeys, unsigned } from './signing-keys.js';
import type { StatusStore } from './status-store.js';
import { type ParsedWebhookRequest, parseWebhookUrl, renderBody, toWebhookRequest } from './webhook-request.js';
import { AttemptSettlement } from './attempt-settlement.js';
import { WebhookDeaths } from './webhook-deaths.js';
import { type EventSink, localCall, type SendCommand, safeUrl } from './worker-io.js';

export interface WorkerDeps {
  store: StatusStore;
  breakers: DestinationBreakers;
  keys: SigningKeys;
  events: EventSink;
  policy: RetryPolicy;
  now: () => number;
  metrics?: VigilMetrics;
  log: Logger;
  /** Wait before retrying work that failed for a local reason (Redis, secrets service). */
  localRetryMs: number;
  /**
   * How long a delivery holds the in-flight lease in Redis: it must outlast the POST and the settle (total
   * timeout + settleRetryMs + a margin), so no other replica or duplicate command POSTs the same id meanwhile.
   */
  leaseMs: number;
  /** How long a settle keeps retrying its status write after the outcome is known (AttemptSettlement, attempt-settlement.ts). */
  settleRetryMs: number;
  /** Not delivered this long after it was stored: dead (`expire`). */
  maxAgeMs: number;
  /** Where sends wait while their destination's breaker is open; without it they wait as delayed redeliveries. */
  parking?: Pick<ParkingLot, 'park'>;
  /** The cap of deliveries in flight per destination (destination-slots.ts); without it, none. */
  slots?: Pick<DestinationSlots, 'take'>;
}

/**
 * How soon a delivery turned away by its destination's cap is back (times 1–2, so a backlog does not return in
 * lockstep): soon enough that a busy but healthy destination loses little, long enough not to spin on a hung one.
 */
const SLOT_WAIT_MS = 500;

/**
 * Handles one `webhook.send` delivery of the durable queue. Resolving = ack. Throwing TransientError with
 * retryAfterMs = nak with exactly that delay (the next attempt, durably scheduled in JetStream).
 * Throwing PermanentError/ValidationError/RetriesExhaustedError = the consumer dead-letters the full request once.
 */
export class DeliveryWorker {
  /** Ids being sent by this process: a duplicate command must not race its twin to the receiver. */
  private readonly inFlight = new Set<string>();

  private readonly deaths: WebhookDeaths;
  private readonly settlement: AttemptSettlement;

  constructor(private readonly d: WorkerDeps) {
    this.deaths = new WebhookDeaths(d);
    this.settlement = new AttemptSettlement(d, this.deaths);
  }

  /** A command refused before delivery (see WebhookDeaths.refuseInvalid); the consumer's `onInvalid` hook. */
  refuseInvalid(cmd: SendCommand, err: unknown): Promise<void> {
    return this.deaths.refuseInvalid(cmd, err);
  }

  async handle(cmd: SendCommand): Promise<void> {
    // A command without an id keeps its event id on every redelivery and replay: one stable webhook id.
    let req: ParsedWebhookRequest;
    try {
      req = toWebhookRequest(cmd.data, () => cmd.id);
    } catch (err) {
      await this.deaths.refuseInvalid(cmd, err);
      throw err;
    }
    const id = req.id;
    // Cheap local check; the Redis lease (beginAttempt) covers other replicas.
    if (this.inFlight.has(id)) return this.defer(1000, `webhook ${id} is being sent`, undefined, ErrorCode.TRANSIENT);
    this.inFlight.add(id);
    try {
      await this.deliver(req, cmd);
    } catch (err) {
      // Only typed errors leave: an untyped one (a library failing) would be redelivered at once, in a loop.
      if (err instanceof VigilError) throw err;
      throw new TransientError(`delivery of ${id} failed: ${(err as Error)?.message ?? String(err)}`, {
        retryAfterMs: this.d.localRetryMs,
        cause: err,
      });
    } finally {
      this.inFlight.delete(id);
    }
  }

  private async deliver(req: ParsedWebhookRequest, cmd: SendCommand): Promise<void> {
    const url = parseWebhookUrl(req.url);
    const createdAt = Date.parse(cmd.time) || this.d.now();
    const dest = this.d.breakers.for(url.origin);
    const expiresAt = cmd.storedAt === undefined ? Number.POSITIVE_INFINITY : cmd.storedAt + this.d.maxAgeMs;
    if (this.d.now() >= expiresAt) return this.deaths.expire(req, url, `destination breaker ${dest.state}`);

    const wait = dest.waitMs(Date.now());
    if (wait > 0) return this.waitForBreaker(req.id, url, dest.state, wait, expiresAt, cmd);

    // Taken before the attempt begins, so a delivery past the cap has burnt nothing: it is simply back shortly.
    const release = this.d.slots ? this.d.slots.take(url.origin) : () => {};
    if (!release) {
      const ms = Math.min(SLOT_WAIT_MS * (1 + Math.random()), Math.max(1, expiresAt - this.d.now()));
      return this.defer(
        ms,
        `destination ${url.origin} has its share of deliveries in flight`,
        undefined,
        ErrorCode.TRANSIENT,
      );
    }
    try {
      await this.attempt(req, cmd, url, dest, createdAt, expiresAt);
    } finally {
      release();
    }
  }

  /** Signs, takes the in-flight lease (the attempt), sends through the breaker and settles. */
  private async attempt(
    req: ParsedWebhookRequest,
    cmd: SendCommand,
    url: URL,
    dest: Destination,
    createdAt: number,
    expiresAt: number,
  ): Promise<void> {
    let key: Buffer | undefined;
    try {
      key = unsigned(req, this.d.keys) ? undefined : await this.d.keys.keyFor(req.secretName);
    } catch (err) {
      if (classify(err) === 'transient') {
        return this.defer(this.d.localRetryMs, 'signing key unavailable', err, ErrorCode.SECRET_UNAVAILABLE);
      }
      // A duplicate of a webhook delivered before its key went away stays delivered.
      if ((await this.local(() => this.d.store.knownState(req.id))) === 'delivered') return;
      const deadAt = this.d.now();
      await this.d.store.markDeadWithoutAttempt(req.id, (err as Error).message, deadAt, safeUrl(url), req.eventType);
      if (await this.deaths.announce(req, url, 0, undefined, err, deadAt))
        await this.deaths.markAnnounced(req.id, deadAt);
      throw err;
    }

    const owner = randomUUID();
    const startedAt = this.d.now();
    const begun = await this.local(() =>
      this.d.store.beginAttempt(
        req.id,
        safeUrl(url),
        req.eventType,
        createdAt,
        startedAt,
        { until: startedAt + this.d.leaseMs, owner },
        cmd.replaySeq,
      ),
    );
    if (begun.status === 'busy') {
      // Another replica (or a twin command) is POSTing this id right now: look again shortly, send nothing.
      const left = (begun.leaseUntil ?? startedAt) - startedAt;
      return this.defer(
        Math.min(Math.max(left, 100), 1000),
        `webhook ${req.id} is being sent`,
        undefined,
        ErrorCode.TRANSIENT,
      );
    }
    if (begun.status === 'delivered') {
      this.d.metrics?.webhookDeliveriesTotal.inc({ result: 'duplicate' });
      return;
    }
    if (begun.status === 'dead') return this.deaths.redeadLetter(req, url);

    const body = renderBody(req, createdAt);
    const headers = signatureHeaders({ id: req.id, timestamp: Math.floor(this.d.now() / 1000), body, key });
    let result: SendResult;
    try {
      result = await dest.send(url, body, headers);
    } catch (err) {
      // Another delivery tripped the breaker (or took the half-open probe) since our check: not an attempt.
      await this.local(() => this.d.store.undoAttempt(req.id, owner));
      return this.waitForBreaker(req.id, url, dest.state, dest.rejectedWaitMs(Date.now()), expiresAt, cmd, err);
    }
    this.d.metrics?.webhookDeliverySeconds.observe(result.durationMs / 1000);
    const decision = decide(result.outcome, begun.attempts, this.d.policy);
    return this.settlement.settle(req, url, begun.attempts, result, decision, owner);
  }

  /**
   * The destination's breaker keeps this delivery back for `wait` ms. While it is open the send waits parked (out
   * of the consumer's ack-pending window, see ParkingLot); a short wait (half-open: another delivery holds the
   * probe) is a delayed redelivery. Either way it is back by its expiry at the latest, so an expired webhook is
   * announced on time, not a breaker period late.
   */
  private async waitForBreaker(
    id: string,
    url: URL,
    state: string,
    wait: number,
    expiresAt: number,
    cmd: SendCommand,
    cause?: unknown,
  ): Promise<void> {
    const until = Math.max(1, Math.min(wait, expiresAt - this.d.now()));
    if (state === 'open' && this.d.parking && cmd.raw) {
      try {
        await this.d.parking.park(url.origin, cmd.raw);
      } catch (err) {
        return this.defer(Math.min(until, this.d.localRetryMs), `destination ${url.origin} breaker is open`, err);
      }
      // What the status API shows meanwhile; it is parked already, so a Redis blip only loses the note.
      await this.d.store
        .markParked(id, `destination ${url.origin} breaker open: sent when it lets a probe through`, this.d.now())
        .catch((err: unknown) => this.d.log.warn({ err, id }, 'parked webhook not noted in its status'));
      return;
    }
    return this.defer(until, `destination ${url.origin} breaker is ${state}`, cause);
  }

  private local<T>(fn: () => Promise<T>): Promise<T> {
    return localCall(fn, this.d.localRetryMs);
  }

  private defer(ms: number, why: string, cause?: unknown, code: string = ErrorCode.BREAKER_OPEN): never {
    this.d.metrics?.webhookDeliveriesTotal.inc({ result: 'deferred' });
    throw new DeferredError(`deferred: ${why}`, { code, retryAfterMs: Math.ceil(ms), cause });
  }
}
