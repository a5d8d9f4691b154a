import { createRequire } from 'node:module';
import type { InMemorySpanExporter, ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { setTracingEnabled } from './state.js';

export interface InMemoryTracing {
  exporter: InMemorySpanExporter;
  /** Finished spans so far. */
  spans(): ReadableSpan[];
  reset(): void;
  shutdown(): Promise<void>;
}

const require = createRequire(import.meta.url);

/**
 * Tests only: a real OTel SDK (context manager, W3C propagator) exporting finished spans to memory.
 * One per process (OTel globals); call shutdown in afterAll. Loaded lazily so test files that do
 * not trace do not pay the SDK import.
 */
export function installInMemoryTracing(service = 'test'): InMemoryTracing {
  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  const { W3CTraceContextPropagator } = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
  const base = require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
  const exporter = new base.InMemorySpanExporter();
  const sdk = new NodeSDK({
    serviceName: service,
    spanProcessors: [new base.SimpleSpanProcessor(exporter)],
    textMapPropagator: new W3CTraceContextPropagator(),
    instrumentations: [],
    metricReaders: [],
    logRecordProcessors: [],
    resourceDetectors: [],
  });
  sdk.start();
  setTracingEnabled(true);
  return {
    exporter,
    spans: () => exporter.getFinishedSpans(),
    reset: () => exporter.reset(),
    async shutdown() {
      setTracingEnabled(false);
      await sdk.shutdown();
    },
  };
}
