import { context, SpanKind, trace } from '@opentelemetry/api';
import { headers as natsHeaders, type JetStreamClient, type MsgHdrs, type PubAck } from 'nats';
import { ErrorCode } from '../errors/codes.js';
import { ValidationError } from '../errors/vigil-error.js';
import type { VigilMetrics } from '../metrics/vigil-metrics.js';
import { injectTraceHeaders, recordError, tracer } from '../tracing/propagation.js';
import { isTracingEnabled } from '../tracing/state.js';
import { currentEventScope } from './context.js';
import { publishDurable } from './durable-publish.js';
import type { JetStreamPublisher } from './jetstream-publisher.js';
import { makeEnvelope } from './envelope.js';
import { Header } from './headers.js';
import { schemaForSubject } from './schemas.js';

export interface PublishOptions {
  /** JetStream de-duplication id (default: the event id). */
  msgId?: string;
  /** Default: the handled message's correlation id, else the event id. */
  correlationId?: string;
  /** Extra headers (never override the ones above). */
  headers?: Record<string, string>;
  /** Event id (default: a new ULID). */
  id?: string;
  time?: Date;
  /** PubAck timeout; a publish not acknowledged by then rejects with NATS_UNAVAILABLE. */
  timeoutMs?: number;
}

export interface PublishDeps {
  js: JetStreamClient | JetStreamPublisher;
  service: string;
  metrics?: VigilMetrics;
  timeoutMs: number;
}

const encoder = new TextEncoder();

/** Validates `data` against the subject's schema; throws ValidationError naming every problem. */
export function validateData<T>(subject: string, data: T): T {
  const schema = schemaForSubject(subject);
  if (!schema) {
    throw new ValidationError(`no event schema for subject ${subject}`, {
      code: ErrorCode.INVALID_EVENT,
      details: { subject },
    });
  }
  const r = schema.safeParse(data);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(data)'}: ${i.message}`);
    throw new ValidationError(`invalid ${subject} data: ${issues.join('; ')}`, {
      code: ErrorCode.INVALID_EVENT,
      details: { subject, issues },
    });
  }
  return data;
}

function buildHeaders(eventId: string, opts: PublishOptions): MsgHdrs {
  const h = natsHeaders();
  if (opts.headers) for (const k in opts.headers) h.set(k, opts.headers[k]);
  const scope = currentEventScope();
  h.set(Header.CORRELATION_ID, opts.correlationId ?? scope?.correlationId ?? eventId);
  if (isTracingEnabled()) {
    injectTraceHeaders(h);
  } else if (scope?.traceparent) {
    // not tracing here: pass the caller's trace through so the next hop still joins it
    h.set(Header.TRACEPARENT, scope.traceparent);
    if (scope.tracestate) h.set(Header.TRACESTATE, scope.tracestate);
  }
  return h;
}

/**
 * Validates, wraps in a CloudEvent and publishes durably (JetStream). Resolves with the PubAck only
 * once the stream stored it; rejects with TransientError NATS_UNAVAILABLE otherwise (never drops silently).
 */
export async function publishEvent<T>(
  deps: PublishDeps,
  subject: string,
  data: T,
  opts: PublishOptions = {},
): Promise<PubAck> {
  validateData(subject, data);
  const event = makeEnvelope(deps.service, subject, data, opts);
  const body = encoder.encode(JSON.stringify(event));
  const msgID = opts.msgId ?? event.id;
  const timeout = opts.timeoutMs ?? deps.timeoutMs;
  let ack: PubAck;
  if (isTracingEnabled()) {
    const span = tracer().startSpan(`publish ${subject}`, {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'nats',
        'messaging.operation.type': 'publish',
        'messaging.destination.name': subject,
        'messaging.message.id': event.id,
      },
    });
    try {
      const h = context.with(trace.setSpan(context.active(), span), () => buildHeaders(event.id, opts));
      ack = await publishDurable(deps.js, subject, body, { msgID, headers: h, timeoutMs: timeout });
      if (ack.duplicate) span.setAttribute('vigil.duplicate', true);
    } catch (err) {
      recordError(span, err);
      throw err;
    } finally {
      span.end();
    }
  } else {
    ack = await publishDurable(deps.js, subject, body, {
      msgID,
      headers: buildHeaders(event.id, opts),
      timeoutMs: timeout,
    });
  }
  deps.metrics?.eventsPublishedTotal.inc({ subject });
  return ack;
}
