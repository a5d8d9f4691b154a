import { createRequire } from 'node:module';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { setTracingEnabled } from './state.js';

export interface TracingHandle {
  /** Flushes pending spans and removes the SDK. */
  shutdown(): Promise<void>;
  readonly enabled: boolean;
}

export interface InitTracingOptions {
  /** OTLP/HTTP base endpoint (OTEL_EXPORTER_OTLP_ENDPOINT), e.g. http://jaeger:4318. Unset: tracing off. */
  endpoint?: string;
}

const off: TracingHandle = { enabled: false, shutdown: async () => {} };

function tracesUrl(endpoint: string): string {
  const base = endpoint.replace(/\/+$/, '');
  return base.endsWith('/v1/traces') ? base : `${base}/v1/traces`;
}

/**
 * Starts OpenTelemetry for a service when an OTLP endpoint is configured; otherwise installs
 * nothing (publish/consume then skip span work). HTTP server/client spans need the instrumentation
 * to load before `node:http` users: call this first thing in main.
 */
export function initTracing(service: string, opts: InitTracingOptions = {}): TracingHandle {
  if (!opts.endpoint) return off;
  const sdk = new NodeSDK({
    serviceName: service,
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: tracesUrl(opts.endpoint) }))],
    textMapPropagator: new W3CTraceContextPropagator(),
    instrumentations: [
      new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => /^\/(health|metrics)/.test(req.url ?? '') }),
      new IORedisInstrumentation(),
      new UndiciInstrumentation(),
    ],
    metricReaders: [],
    logRecordProcessors: [],
    resourceDetectors: [],
  });
  sdk.start();
  // ESM imports bypass the require hook the http instrumentation patches through; requiring the
  // built-ins once makes it patch the shared module objects (server spans via Server.prototype).
  const require = createRequire(import.meta.url);
  require('node:http');
  require('node:https');
  // same for ioredis when a service imported it before tracing started (a no-op if not installed)
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
