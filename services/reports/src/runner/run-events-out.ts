import {
  Header,
  injectTraceHeaders,
  isTracingEnabled,
  type JetStreamPublisher,
  publishDurable,
  retry,
} from '@vigil/shared';
import { headers as natsHeaders, type MsgHdrs, type PubAck } from 'nats';
import type { RunMetrics } from './run-metrics.js';

/** How long the first publish of an event waits for its PubAck before the retrying path takes over. */
const FIRST_ATTEMPT_MS = 2_000;

/**
 * Publishes the runner's events (terminal, started, re-published) with the request's correlation id and trace.
 * The first attempt goes straight to the connection's publisher (the per-run path); a failure retries through
 * publishDurable (5 s); callers that must not give up wrap it in `persistent`.
 */
export class RunEventsOut {
  constructor(
    private readonly publisher: JetStreamPublisher,
    private readonly metrics: RunMetrics | undefined,
  ) {}

  /** Resolves with the PubAck once stored (`duplicate` when the stream already had this msg id). */
  async publish(
    subject: string,
    body: string,
    msgId: string,
    source: HeaderSource | undefined,
    runId: string,
  ): Promise<PubAck> {
    // Buffer.from is about twice as fast as TextEncoder for strings this size (and a Buffer is a Uint8Array).
    const bytes = Buffer.from(body);
    const headers = headersFor(source, runId);
    let ack: PubAck;
    try {
      ack = await this.publisher.publish(subject, bytes, { msgID: msgId, headers, timeoutMs: FIRST_ATTEMPT_MS });
    } catch {
      ack = await publishDurable(this.publisher, subject, bytes, { msgID: msgId, headers });
    }
    this.metrics?.published(subject);
    return ack;
  }
}

/** Request headers carried over to the events a run publishes. */
/** Where a run's request headers are read from (a delivered message). */
export interface HeaderSource {
  header(name: string): string | undefined;
}

export function headersFor(source: HeaderSource | undefined, correlation: string): MsgHdrs | Record<string, string> {
  if (!isTracingEnabled()) {
    // Plain pairs: the publisher encodes them straight to bytes (the per-run path).
    const pairs: Record<string, string> = {
      [Header.CORRELATION_ID]: source?.header(Header.CORRELATION_ID) || correlation,
    };
    const tp = source?.header(Header.TRACEPARENT);
    if (tp) pairs[Header.TRACEPARENT] = tp;
    return pairs;
  }
  const h = natsHeaders();
  h.set(Header.CORRELATION_ID, source?.header(Header.CORRELATION_ID) || correlation);
  injectTraceHeaders(h);
  const tp = source?.header(Header.TRACEPARENT);
  if (tp && !h.has(Header.TRACEPARENT)) h.set(Header.TRACEPARENT, tp);
  return h;
}

/**
 * Infrastructure writes after a run are retried in place (the caller heartbeats) rather than re-running the
 * handler, for as long as the broker is away: giving up would nak a run whose handler already ran, and its
 * redelivery (claimed by this replica, no done record) would execute it a second time. Only a stopping
 * replica gives up (a known limit: the run is executed again elsewhere).
 */
export function persistent<T>(
  fn: () => Promise<T>,
  opts: { stopping: () => boolean; onRetry: (err: unknown, attempt: number) => void },
): Promise<T> {
  return retry(fn, {
    max: Number.POSITIVE_INFINITY,
    base: 200,
    cap: 5_000,
    shouldRetry: () => !opts.stopping(),
    onRetry: (err, attempt) => opts.onRetry(err, attempt),
  });
}
