import { createRequire } from 'node:module';
import { setTracingEnabled } from './state.js';

export interface TracingHandle {
  /** Flushes pending spans and removes the SDK. */
  shutdown(): Promise<void>;
  readonly enabled: boolean;
}

export interface InitTracingOptions {
  /** OTLP/HTTP base endpoint (OTEL_EXPORTER_OTLP_ENDPOINT), e.g. http://jaeger:4318. Unset: tracing off. */
  endpoint?: string;
  /** This replica's instance id: spans carry it as `service.instance.id`, so Jaeger tells replicas apart. */
  instance?: string;
}

/**
 * How long one export may take, and so how long the last flush at shutdown may hold a stop: a collector that
 * accepts connections and never answers must not eat the shutdown budget the running work needs.
 */
const EXPORT_TIMEOUT_MS = 2_000;

const off: TracingHandle = { enabled: false, shutdown: async () => {} };

// The SDK is loaded only when tracing is on, synchronously (the packages are CommonJS), so a
// service without an endpoint never pays its ~300 ms import.
const require = createRequire(import.meta.url);

function tracesUrl(endpoint: string): string {
  const base = endpoint.replace(/\/+$/, '');
  return base.endsWith('/v1/traces') ? base : `${base}/v1/traces`;
}

/**
 * Starts OpenTelemetry for a service when an OTLP endpoint is configured; otherwise installs
 * nothing (publish/consume then skip span work). HTTP server spans, ioredis and undici spans come
 * from their instrumentations.
 */
export function initTracing(service: string, opts: InitTracingOptions = {}): TracingHandle {
  if (!opts.endpoint) return off;
  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  const { W3CTraceContextPropagator } = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
  const { OTLPTraceExporter } =
    require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
  const { BatchSpanProcessor } =
    require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
  const { HttpInstrumentation } =
    require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
  const { IORedisInstrumentation } =
    require('@opentelemetry/instrumentation-ioredis') as typeof import('@opentelemetry/instrumentation-ioredis');
  const { UndiciInstrumentation } =
    require('@opentelemetry/instrumentation-undici') as typeof import('@opentelemetry/instrumentation-undici');
  const { defaultResource, envDetector, hostDetector, resourceFromAttributes } =
    require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const exporter = new OTLPTraceExporter({ url: tracesUrl(opts.endpoint), timeoutMillis: EXPORT_TIMEOUT_MS });
  const sdk = new NodeSDK({
    serviceName: service,
    // host.name and OTEL_RESOURCE_ATTRIBUTES (e.g. k8s.pod.name from the downward API) come from the detectors.
    resource: defaultResource().merge(
      resourceFromAttributes(opts.instance ? { 'service.instance.id': opts.instance } : {}),
    ),
    spanProcessors: [new BatchSpanProcessor(exporter, { exportTimeoutMillis: EXPORT_TIMEOUT_MS })],
    textMapPropagator: new W3CTraceContextPropagator(),
    instrumentations: [
      new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => /^\/(health|metrics)/.test(req.url ?? '') }),
      new IORedisInstrumentation(),
      new UndiciInstrumentation(),
    ],
    metricReaders: [],
    logRecordProcessors: [],
    resourceDetectors: [envDetector, hostDetector],
  });
  sdk.start();
  // ESM imports bypass the require hook the instrumentations patch through; requiring the modules
  // once makes them patch the shared module objects (http server spans via Server.prototype).
  require('node:http');
  require('node:https');
  try {
    require('ioredis');
  } catch {
    // not used by this service
  }
  setTracingEnabled(true);
  return {
    enabled: true,
    async shutdown() {
      setTracingEnabled(false);
      await sdk.shutdown();
    },
  };
}
