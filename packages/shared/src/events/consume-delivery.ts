import { context, type Context, trace } from '@opentelemetry/api';
import type { JsMsg } from 'nats';
import type { Logger } from 'pino';
import { classify } from '../errors/classify.js';
import { ErrorCode } from '../errors/codes.js';
import { DeferredError, RetriesExhaustedError, TransientError, ValidationError } from '../errors/vigil-error.js';
import { extractTraceContext, recordError } from '../tracing/propagation.js';
import { isTracingEnabled } from '../tracing/state.js';
import { type ConsumeContext, consumerSpan, MessageContext } from './consume-context.js';
import { type ConsumeDeps, type ConsumeOptions, retryDelay } from './consume-options.js';
import { type EventScope, runInEventScope } from './context.js';
import { deadLetter } from './dlq.js';
import { type CloudEvent, envelopeProblem } from './envelope.js';
import { Header } from './headers.js';
import { schemaForSubject } from './schemas.js';
import { SettledRing } from './settled-ring.js';

const decoder = new TextDecoder();

/** What a consumer lends the handling of its messages. */
export interface DeliveryScope {
  durable: string;
  maxDeliver: number;
  /** The consumer's logger (consumer and stream bound). */
  log: Logger;
  /** Aborted once the consumer has stopped: every handler's ctx.signal. */
  signal: AbortSignal;
  /** Whether the consumer is stopping: a handler failing meanwhile was interrupted, not at fault. */
  stopping: () => boolean;
}

/**
 * One delivered message, from its bytes to its settlement: decoded, its envelope and data checked against the
 * subject's schema, handled in its event scope (and span), then acked, nak'ed with a delay, or dead-lettered.
 */
export class DeliveryHandler<T> {
  private readonly settled = new SettledRing();

  constructor(
    private readonly deps: ConsumeDeps,
    private readonly opts: ConsumeOptions<T>,
    private readonly scope: DeliveryScope,
  ) {}

  /** Settles `m` one way or another; never throws (a settlement that fails is logged: ack-wait redelivers). */
  async process(m: JsMsg): Promise<void> {
    const subject = m.subject;
    const deliveries = m.info.deliveryCount;
    try {
      let event: CloudEvent<T>;
      try {
        event = JSON.parse(decoder.decode(m.data));
      } catch {
        return await this.refuse(m, deliveries, invalid('payload is not JSON'));
      }
      const problem = envelopeProblem(event);
      if (problem) {
        const err = invalid(`bad CloudEvent envelope: ${problem}`);
        // A bare command (no envelope around it) that names its id is still told to the consumer's onInvalid, so
        // that id (a webhook's) shows its refusal where people look, not only in the dead letters.
        const bare = bareEvent<T>(event, m.seq);
        if (bare) await this.tellInvalid(bare, err);
        return await this.refuse(m, deliveries, err, bare?.id);
      }
      if (this.settled.has(m.seq, event.id)) {
        m.ack(); // our earlier ack was lost (broker restart): do not run the handler again
        return;
      }
      const schema = schemaForSubject(subject);
      if (!schema) return await this.refuse(m, deliveries, invalid(`no event schema for subject ${subject}`), event.id);
      const parsed = schema.safeParse(event.data);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(data)'}: ${i.message}`);
        const err = invalid(`invalid ${subject} data: ${issues.join('; ')}`);
        await this.tellInvalid(event, err);
        return await this.refuse(m, deliveries, err, event.id);
      }
      event.data = parsed.data as T;
      if (deliveries > this.scope.maxDeliver) {
        // earlier deliveries ran out their ack-wait (crash, hang): this one is past the limit
        const err = new TransientError(`not acknowledged after ${deliveries - 1} deliveries (ack wait expired)`);
        return await this.refuse(m, deliveries, err, event.id);
      }
      await this.handle(m, event, deliveries);
    } catch (err) {
      // only reachable when dead-lettering itself failed (NATS down): ack-wait brings it back
      this.scope.log.error({ err, subject, seq: m.seq }, 'could not settle message; it will be redelivered');
    }
  }

  private async handle(m: JsMsg, event: CloudEvent<T>, deliveries: number): Promise<void> {
    const h = m.headers;
    const correlationId = h?.get(Header.CORRELATION_ID) || event.id;
    const data = event.data as { runId?: unknown } | undefined;
    const runId = data && typeof data.runId === 'string' ? data.runId : undefined;
    const scope: EventScope = { correlationId };
    let parent: Context | undefined;
    if (isTracingEnabled()) {
      parent = extractTraceContext(h);
    } else if (h?.has(Header.TRACEPARENT)) {
      scope.traceparent = h.get(Header.TRACEPARENT);
      if (h.has(Header.TRACESTATE)) scope.tracestate = h.get(Header.TRACESTATE);
    }
    const { durable, signal, log } = this.scope;
    const span = parent ? consumerSpan(m.subject, durable, event.id, deliveries, parent) : undefined;
    const traceId = span?.spanContext().traceId;
    const ctx = new MessageContext(m, deliveries, correlationId, signal, log, runId, traceId);
    const run = () => this.opts.handler(event, ctx);
    try {
      await runInEventScope(scope, span && parent ? () => context.with(trace.setSpan(parent, span), run) : run);
    } catch (err) {
      if (span) recordError(span, err);
      span?.end();
      return await this.failed(m, deliveries, err, ctx, event.id);
    }
    span?.end();
    m.ack();
    this.settled.add(m.seq, event.id);
    this.deps.metrics?.eventsHandledTotal.inc({ subject: m.subject, result: 'ok' });
  }

  private async failed(m: JsMsg, deliveries: number, err: unknown, ctx: ConsumeContext, eventId: string) {
    const cls = classify(err);
    // no retry can help (bad input, a refusal) or the handler's own retries are used up
    const final = cls === 'validation' || cls === 'permanent' || err instanceof RetriesExhaustedError;
    if (this.scope.stopping() && !final) {
      // Failed during shutdown: never a dead letter (an interrupted handler is not at fault). Handed back at once,
      // unless the failure named its own next try (a receiver's Retry-After, a decided backoff): a rolling deploy
      // must not re-send to a receiver that asked for an hour's rest.
      const decided = err instanceof TransientError && err.retryAfterMs !== undefined;
      const delay = decided ? retryDelay(deliveries, this.opts.backoffMs, err) : 0;
      ctx.log.info({ err, deliveries, delayMs: delay }, 'handler failed during shutdown; handing the message back');
      if (decided) m.nak(delay);
      else m.nak();
      return;
    }
    if (final || deliveries >= this.scope.maxDeliver) {
      ctx.log.warn({ err, deliveries, errorClass: cls }, 'handler failed; dead-lettering');
      return await this.reject(m, deliveries, err, eventId);
    }
    const delay = retryDelay(deliveries, this.opts.backoffMs, err);
    const deferred = err instanceof DeferredError;
    if (deferred) ctx.log.debug({ reason: err.message, deliveries, delayMs: delay }, 'handed back to wait its turn');
    else ctx.log.warn({ err, deliveries, delayMs: delay, errorClass: cls }, 'handler failed; will retry');
    m.nak(delay);
    this.deps.metrics?.eventsHandledTotal.inc({ subject: m.subject, result: deferred ? 'deferred' : 'retry' });
  }

  /** Tells opts.onInvalid of an event its schema (or envelope check) refused; a failure there is logged (it is dead-lettered anyway). */
  private async tellInvalid(event: CloudEvent<T>, err: Error): Promise<void> {
    if (!this.opts.onInvalid) return;
    try {
      await this.opts.onInvalid({ id: event.id, time: event.time, data: event.data }, err);
    } catch (e) {
      this.scope.log.warn({ err: e, eventId: event.id }, 'onInvalid hook failed; dead-lettering anyway');
    }
  }

  /**
   * A message dead-lettered without its handler's say (unreadable, invalid, or past its deliveries): logged, since
   * someone's event or alert is now only in the dead letters; a failing handler's dead letter is logged in `failed`.
   */
  private async refuse(m: JsMsg, deliveries: number, err: Error, eventId?: string): Promise<void> {
    this.scope.log.warn(
      { subject: m.subject, seq: m.seq, eventId, deliveries, reason: err.message },
      'message refused: dead-lettered (vigil dlq list)',
    );
    return this.reject(m, deliveries, err, eventId);
  }

  /** Dead-letters, then terminates the original; if the DLQ publish fails the message stays unacked. */
  private async reject(m: JsMsg, deliveries: number, err: unknown, eventId?: string): Promise<void> {
    await deadLetter(this.deps.js, m, err, deliveries, {
      metrics: this.deps.metrics,
      consumer: this.scope.durable,
      timeoutMs: this.deps.publishTimeoutMs,
    });
    m.term();
    if (eventId) this.settled.add(m.seq, eventId);
    this.deps.metrics?.eventsHandledTotal.inc({ subject: m.subject, result: 'dlq' });
  }
}

function invalid(message: string): ValidationError {
  return new ValidationError(message, { code: ErrorCode.INVALID_EVENT });
}

/**
 * What onInvalid is told of a message whose envelope is refused: its data, or the whole body of a bare command;
 * nothing when that names no id (there is nothing to show the refusal on).
 */
function bareEvent<T>(body: unknown, seq: number): CloudEvent<T> | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Partial<CloudEvent<T>>;
  const data: unknown = 'data' in b ? b.data : body;
  if (!data || typeof data !== 'object' || typeof (data as { id?: unknown }).id !== 'string') return undefined;
  return {
    ...b,
    id: typeof b.id === 'string' ? b.id : `seq-${seq}`,
    time: typeof b.time === 'string' ? b.time : new Date().toISOString(),
    data: data as T,
  } as CloudEvent<T>;
}
