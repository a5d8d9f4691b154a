import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { setTracingEnabled } from './state.js';

export interface InMemoryTracing {
  exporter: InMemorySpanExporter;
  /** Finished spans so far. */
  spans(): ReadableSpan[];
  reset(): void;
  shutdown(): Promise<void>;
}

/**
 * Tests only: a real OTel SDK (context manager, W3C propagator) exporting finished spans to memory.
 * One per process (OTel globals); call shutdown in afterAll.
 */
export function installInMemoryTracing(service = 'test'): InMemoryTracing {
  const exporter = new InMemorySpanExporter();
  const sdk = new NodeSDK({
    serviceName: service,
    spanProcessors: [new SimpleSpanProcessor(exporter)],
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
