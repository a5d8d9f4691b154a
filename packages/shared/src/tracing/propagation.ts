import {
  type Attributes,
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapSetter,
  trace,
} from '@opentelemetry/api';
import type { MsgHdrs } from 'nats';
import { errorMessage } from '../errors/error-message.js';
import { scrubSecrets } from '../log/secret-values.js';
import { isMsgHdrs } from '../nats/msg-hdrs.js';

export const TRACER_NAME = '@vigil/shared';

/** Anything header-like: NATS MsgHdrs, a plain record (HTTP, tests). */
type HeaderCarrier = MsgHdrs | Record<string, string | string[] | undefined>;

const setter: TextMapSetter<HeaderCarrier> = {
  set(carrier, key, value) {
    if (isMsgHdrs(carrier)) carrier.set(key, value);
    else carrier[key] = value;
  },
};

const getter: TextMapGetter<HeaderCarrier> = {
  get(carrier, key) {
    if (isMsgHdrs(carrier)) return carrier.has(key) ? carrier.get(key) : undefined;
    const v = carrier[key] ?? carrier[key.toLowerCase()];
    return v ?? undefined;
  },
  keys(carrier) {
    return isMsgHdrs(carrier) ? carrier.keys() : Object.keys(carrier);
  },
};

/** Writes `traceparent`/`tracestate` of `ctx` (default: the active context) into the headers. */
export function injectTraceHeaders(headers: HeaderCarrier, ctx: Context = context.active()): void {
  propagation.inject(ctx, headers, setter);
}

/** The context active here (the current span): kept to publish later, from a timer, under the right span. */
export function activeTraceContext(): Context {
  return context.active();
}

/** The remote parent context carried by `traceparent`/`tracestate` headers (ROOT when absent). */
export function extractTraceContext(headers: HeaderCarrier | undefined): Context {
  if (!headers) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, headers, getter);
}

export function tracer() {
  return trace.getTracer(TRACER_NAME);
}

export interface WithSpanOptions {
  attributes?: Attributes;
  kind?: SpanKind;
  /** Parent context (default: the active one). */
  parent?: Context;
}

/**
 * Runs `fn` inside a new active span; records an exception and ERROR status when it throws.
 * The span ends when `fn` settles.
 */
export async function withSpan<T>(name: string, fn: (span: Span) => Promise<T> | T, opts: WithSpanOptions = {}) {
  const parent = opts.parent ?? context.active();
  const span = tracer().startSpan(name, { kind: opts.kind ?? SpanKind.INTERNAL, attributes: opts.attributes }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    recordError(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** Marks the span failed. Spans leave the process (Jaeger): message and stack are scrubbed like log lines. */
export function recordError(span: Span, err: unknown): void {
  const message = scrubSecrets(errorMessage(err));
  if (err instanceof Error) {
    span.recordException({ name: err.name, message, stack: err.stack ? scrubSecrets(err.stack) : undefined });
  }
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/** The trace id of the active span, if any (for log lines). */
export function activeTraceId(ctx: Context = context.active()): string | undefined {
  const sc = trace.getSpanContext(ctx);
  return sc && sc.traceId !== '00000000000000000000000000000000' ? sc.traceId : undefined;
}

export { SpanKind, SpanStatusCode };
