import type { JetStreamClient, JetStreamManager } from 'nats';
import type { Logger } from 'pino';
import { TransientError } from '../errors/vigil-error.js';
import type { VigilMetrics } from '../metrics/vigil-metrics.js';
import { backoffDelay } from '../resilience/backoff.js';
import type { ConsumeContext } from './consume-context.js';
import type { CloudEvent } from './envelope.js';

export type EventHandler<T> = (event: CloudEvent<T>, ctx: ConsumeContext) => Promise<void>;

export interface ConsumeOptions<T = unknown> {
  /** Default: the stream that captures the subject. */
  stream?: string;
  /** Filter subject, e.g. 'job.requested.>' (one subject: nats-server 2.9). */
  subject: string;
  /** Shared durable name: N replicas split the work. */
  durable: string;
  handler: EventHandler<T>;
  /** Deliveries before a failing message is dead-lettered (the last delivery dead-letters). */
  maxDeliver?: number;
  ackWaitMs?: number;
  /** nak delay by delivery count (index 0 = after the first delivery); last value repeats. */
  backoffMs?: number[];
  /** Handlers running at once. */
  concurrency?: number;
  /** Messages pulled ahead (default: concurrency). More = faster, but buffered messages age toward ack-wait. */
  prefetch?: number;
  deliverPolicy?: 'all' | 'new';
  maxAckPending?: number;
  /**
   * Called with an event whose data fails the subject's schema, before it is dead-lettered (it never reaches the
   * handler): a service that owes its users a notice for every refused command (webhook.dead) gives it here.
   * A failure here is logged; the event is dead-lettered either way.
   */
  onInvalid?: (event: { id: string; time: string; data: unknown }, err: Error) => Promise<void> | void;
}

export interface ConsumerHandle {
  readonly stream: string;
  readonly durable: string;
  readonly subject: string;
  /** Handlers running now. */
  readonly inFlight: number;
  /** Stops pulling, waits for in-flight handlers (bounded), then aborts ctx.signal. */
  stop(timeoutMs?: number): Promise<void>;
}

export interface ConsumeDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  logger: Logger;
  metrics?: VigilMetrics;
  publishTimeoutMs: number;
  /** Default bound of stop(). */
  stopTimeoutMs: number;
}

/** nak delay: the configured step for this delivery, else exponential from 1 s capped at 60 s. */
export function retryDelay(deliveries: number, backoffMs: number[] | undefined, err?: unknown): number {
  let d: number;
  if (backoffMs && backoffMs.length > 0) d = backoffMs[Math.min(deliveries - 1, backoffMs.length - 1)];
  else d = backoffDelay(deliveries, { base: 1_000, cap: 60_000, jitter: 'none' });
  const after = err instanceof TransientError ? err.retryAfterMs : undefined;
  return after !== undefined && after > d ? after : d;
}
