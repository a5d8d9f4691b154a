import { AsyncLocalStorage } from 'node:async_hooks';

/** What a handler's nested publishes inherit from the message being handled. */
export interface EventScope {
  correlationId: string;
  /** Incoming trace headers, forwarded as-is when this process does not trace itself. */
  traceparent?: string;
  tracestate?: string;
}

const storage = new AsyncLocalStorage<EventScope>();

/** The scope of the message being handled (or set by runWithCorrelation), if any. */
export function currentEventScope(): EventScope | undefined {
  return storage.getStore();
}

export function currentCorrelationId(): string | undefined {
  return storage.getStore()?.correlationId;
}

/** Runs fn so every publish inside carries this correlation id (e.g. an HTTP request handler). */
export function runWithCorrelation<T>(correlationId: string, fn: () => T): T {
  const outer = storage.getStore();
  return storage.run({ ...outer, correlationId }, fn);
}

export function runInEventScope<T>(scope: EventScope, fn: () => T): T {
  return storage.run(scope, fn);
}
