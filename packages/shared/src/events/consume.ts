import { context, type Context, trace } from '@opentelemetry/api';
import type { ConsumerMessages, JsMsg } from 'nats';
import type { Logger } from 'pino';
import { classify } from '../errors/classify.js';
import { ErrorCode } from '../errors/codes.js';
import { RetriesExhaustedError, TransientError, ValidationError } from '../errors/vigil-error.js';
import { extractTraceContext, recordError } from '../tracing/propagation.js';
import { isTracingEnabled } from '../tracing/state.js';
import { type ConsumeContext, consumerSpan, MessageContext } from './consume-context.js';
import { type ConsumeDeps, type ConsumeOptions, type ConsumerHandle, retryDelay } from './consume-options.js';
import { ensureDurable } from './consumer-config.js';
import { type EventScope, runInEventScope } from './context.js';
import { deadLetter } from './dlq.js';
import { type CloudEvent, envelopeProblem } from './envelope.js';
import { Header } from './headers.js';
import { schemaForSubject } from './schemas.js';
import { SettledRing } from './settled-ring.js';
import { streamForSubject } from './streams.js';

const decoder = new TextDecoder();

/**
 * Lifetime of one pull request on the server. A replica that dies without the server noticing (host gone,
 * network cut: no FIN) leaves its pull requests queued ahead of the live replicas', and each message they
 * catch waits out ack-wait. nats.js defaults to 30 s; 5 s bounds that window. Only idle pulls expire, so
 * throughput is unchanged: under load a pull is filled long before (batch size = prefetch).
 */
const PULL_EXPIRES_MS = 5_000;
/** Server heartbeats on an idle pull: two missed = the pull is gone (server restarted), pull again at once. */
const PULL_IDLE_HEARTBEAT_MS = 2_000;

class Consumer<T> implements ConsumerHandle {
  readonly stream: string;
  readonly subject: string;
  readonly durable: string;
  private readonly maxDeliver: number;
  private readonly concurrency: number;
  private readonly abort = new AbortController();
  private readonly settled = new SettledRing();
  private readonly log: Logger;
  private messages?: ConsumerMessages;
  private stopping = false;
  private active = 0;
  private slotWaiter?: () => void;
  private idleWaiters: Array<() => void> = [];
  private loopDone?: Promise<void>;
  private wake?: () => void;

  constructor(
    private readonly deps: ConsumeDeps,
    private readonly opts: ConsumeOptions<T>,
  ) {
    const stream = opts.stream ?? streamForSubject(opts.subject);
    if (!stream) throw new ValidationError(`no stream captures subject ${opts.subject}`);
    this.stream = stream;
    this.subject = opts.subject;
    this.durable = opts.durable;
    this.maxDeliver = Math.max(1, opts.maxDeliver ?? 5);
    this.concurrency = Math.max(1, opts.concurrency ?? 1);
    this.log = deps.logger.child({ consumer: opts.durable, stream });
  }

  get inFlight(): number {
    return this.active;
  }

  private async open(): Promise<ConsumerMessages> {
    await ensureDurable(this.deps.jsm, {
      stream: this.stream,
      durable: this.durable,
      subject: this.subject,
      ackWaitMs: this.opts.ackWaitMs ?? 30_000,
      deliverPolicy: this.opts.deliverPolicy ?? 'all',
      maxAckPending: this.opts.maxAckPending,
    });
    const consumer = await this.deps.js.consumers.get(this.stream, this.durable);
    const prefetch = Math.max(1, this.opts.prefetch ?? this.concurrency);
    const messages = await consumer.consume({
      max_messages: prefetch,
      expires: PULL_EXPIRES_MS,
      idle_heartbeat: PULL_IDLE_HEARTBEAT_MS,
    });
    this.messages = messages;
    void this.watch(messages);
    return messages;
  }

  /**
   * nats.js keeps polling a deleted consumer forever without recreating it: end the iterator so
   * supervise() re-creates the durable (or waits for the stream to come back).
   */
  private async watch(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const s of await messages.status()) {
        if (s.type === 'consumer_deleted' || s.type === 'consumer_not_found' || s.type === 'stream_not_found') {
          this.log.warn({ status: s.type }, 'consumer or stream gone; re-creating');
          messages.stop();
          return;
        }
      }
    } catch {
      // the iterator closed: nothing to watch
    }
  }

  /** Throws when the consumer cannot be set up (missing stream, bad config): callers must know. */
  async start(): Promise<void> {
    const first = await this.open();
    this.loopDone = this.supervise(first);
  }

  /** The pull iterator survives reconnects on its own; if it ends anyway, re-open it until stopped. */
  private async supervise(first: ConsumerMessages): Promise<void> {
    let messages: ConsumerMessages | undefined = first;
    let failures = 0;
    while (!this.stopping) {
      if (messages) {
        await this.loop(messages);
        messages = undefined;
        if (this.stopping) break;
        this.log.warn('consumer iterator ended; re-opening');
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(250 * 2 ** failures, 5_000));
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
      this.wake = undefined;
      if (this.stopping) break;
      try {
        messages = await this.open();
        failures = 0;
      } catch (err) {
        failures++;
        this.log.error({ err }, 'could not re-open consumer; retrying');
      }
    }
  }

  private async loop(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const m of messages) {
        if (this.stopping) {
          m.nak(); // hand it back at once instead of waiting out ack-wait
          continue;
        }
        this.active++;
        void this.process(m);
        if (this.active >= this.concurrency) await new Promise<void>((r) => (this.slotWaiter = r));
      }
    } catch (err) {
      if (!this.stopping) this.log.error({ err }, 'consumer loop failed');
    }
  }

  private done(): void {
    this.active--;
    const w = this.slotWaiter;
    if (w) {
      this.slotWaiter = undefined;
      w();
    }
    if (this.active === 0 && this.idleWaiters.length > 0) {
      const ws = this.idleWaiters;
      this.idleWaiters = [];
      for (const r of ws) r();
    }
  }

  private async process(m: JsMsg): Promise<void> {
    const subject = m.subject;
    const deliveries = m.info.deliveryCount;
    try {
      let event: CloudEvent<T>;
      try {
        event = JSON.parse(decoder.decode(m.data));
      } catch {
        return await this.reject(m, deliveries, invalid('payload is not JSON'));
      }
      const problem = envelopeProblem(event);
      if (problem) return await this.reject(m, deliveries, invalid(`bad CloudEvent envelope: ${problem}`));
      if (this.settled.has(m.seq, event.id)) {
        m.ack(); // our earlier ack was lost (broker restart): do not run the handler again
        return;
      }
      const schema = schemaForSubject(subject);
      if (!schema) return await this.reject(m, deliveries, invalid(`no event schema for subject ${subject}`), event.id);
      const parsed = schema.safeParse(event.data);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(data)'}: ${i.message}`);
        const err = invalid(`invalid ${subject} data: ${issues.join('; ')}`);
        await this.tellInvalid(event, err);
        return await this.reject(m, deliveries, err, event.id);
      }
      event.data = parsed.data as T;
      if (deliveries > this.maxDeliver) {
        // earlier deliveries ran out their ack-wait (crash, hang): this one is past the limit
        const err = new TransientError(`not acknowledged after ${deliveries - 1} deliveries (ack wait expired)`);
        return await this.reject(m, deliveries, err, event.id);
      }
      await this.handle(m, event, deliveries);
    } catch (err) {
      // only reachable when dead-lettering itself failed (NATS down): ack-wait brings it back
      this.log.error({ err, subject, seq: m.seq }, 'could not settle message; it will be redelivered');
    } finally {
      this.done();
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
    const span = parent ? consumerSpan(m.subject, this.durable, event.id, deliveries, parent) : undefined;
    const traceId = span?.spanContext().traceId;
    const ctx = new MessageContext(m, deliveries, correlationId, this.abort.signal, this.log, runId, traceId);
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
    if (this.stopping && !final) {
      // interrupted by shutdown (ctx.signal): not the handler's failure, never a dead letter
      ctx.log.info({ err, deliveries }, 'handler interrupted by shutdown; handing the message back');
      m.nak();
      return;
    }
    if (final || deliveries >= this.maxDeliver) {
      ctx.log.warn({ err, deliveries, errorClass: cls }, 'handler failed; dead-lettering');
      return await this.reject(m, deliveries, err, eventId);
    }
    const delay = retryDelay(deliveries, this.opts.backoffMs, err);
    ctx.log.warn({ err, deliveries, delayMs: delay, errorClass: cls }, 'handler failed; will retry');
    m.nak(delay);
    this.deps.metrics?.eventsHandledTotal.inc({ subject: m.subject, result: 'retry' });
  }

  /** Dead-letters, then terminates the original; if the DLQ publish fails the message stays unacked. */
  private async tellInvalid(event: CloudEvent<T>, err: Error): Promise<void> {
    if (!this.opts.onInvalid) return;
    try {
      await this.opts.onInvalid({ id: event.id, time: event.time, data: event.data }, err);
    } catch (e) {
      this.log.warn({ err: e, eventId: event.id }, 'onInvalid hook failed; dead-lettering anyway');
    }
  }

  private async reject(m: JsMsg, deliveries: number, err: unknown, eventId?: string): Promise<void> {
    await deadLetter(this.deps.js, m, err, deliveries, {
      metrics: this.deps.metrics,
      consumer: this.durable,
      timeoutMs: this.deps.publishTimeoutMs,
    });
    m.term();
    if (eventId) this.settled.add(m.seq, eventId);
    this.deps.metrics?.eventsHandledTotal.inc({ subject: m.subject, result: 'dlq' });
  }

  async stop(timeoutMs = this.deps.stopTimeoutMs): Promise<void> {
    if (this.stopping) return this.waitIdle(timeoutMs);
    this.stopping = true;
    this.messages?.stop();
    this.wake?.();
    await this.waitIdle(timeoutMs);
    this.abort.abort(new Error('consumer stopped'));
    await this.loopDone;
  }

  private async waitIdle(timeoutMs: number): Promise<void> {
    if (this.active === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<void>((r) => this.idleWaiters.push(r));
    const deadline = new Promise<void>((r) => {
      timer = setTimeout(() => {
        this.log.warn({ inFlight: this.active }, 'stop: in-flight handlers still running at the deadline');
        r();
      }, timeoutMs);
    });
    await Promise.race([idle, deadline]);
    clearTimeout(timer);
    // let slot waiters proceed so the loop can observe the stop
    this.slotWaiter?.();
  }
}

function invalid(message: string): ValidationError {
  return new ValidationError(message, { code: ErrorCode.INVALID_EVENT });
}

/** Starts a durable pull consumer; see ConsumeOptions for the delivery rules. */
export async function startConsumer<T>(deps: ConsumeDeps, opts: ConsumeOptions<T>): Promise<ConsumerHandle> {
  const c = new Consumer<T>(deps, opts);
  await c.start();
  return c;
}

export {
  type ConsumeDeps,
  type ConsumeOptions,
  type ConsumerHandle,
  type EventHandler,
  retryDelay,
} from './consume-options.js';
