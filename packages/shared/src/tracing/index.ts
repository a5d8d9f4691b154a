export { initTracing, type InitTracingOptions, type TracingHandle } from './init.js';
export {
  activeTraceContext,
  injectTraceHeaders,
  extractTraceContext,
  withSpan,
  type WithSpanOptions,
  recordError,
  activeTraceId,
  tracer,
  SpanKind,
  SpanStatusCode,
  TRACER_NAME,
} from './propagation.js';
export { isTracingEnabled } from './state.js';
