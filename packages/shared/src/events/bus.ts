import type { JetStreamClient, JetStreamManager, KV, NatsConnection, PubAck } from 'nats';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { type VigilMetrics, vigilMetrics } from '../metrics/vigil-metrics.js';
import { type ConsumeDeps, type ConsumeOptions, type ConsumerHandle, startConsumer } from './consume.js';
import { type DlqEntry, type DlqReplay, dlqDepth, type ListDlqOptions, listDlq, replayDlq } from './dlq.js';
import { type OpenKvOptions, openKv } from './kv.js';
import { jetStreamPublisher } from './jetstream-publisher.js';
import { type PublishDeps, type PublishOptions, publishEvent } from './publish.js';
import { type EnsureStreamsOptions, ensureStreams } from './streams.js';

export interface EventBusOptions {
  /** Service name: the CloudEvents source is `vigil/<service>`. */
  service: string;
  logger: Logger;
  registry?: Registry;
  /** How long publish waits for the PubAck before rejecting with NATS_UNAVAILABLE (default 5 s). */
  publishTimeoutMs?: number;
  /** Default bound for drain()/stop() waiting on in-flight handlers (default 15 s). */
  drainTimeoutMs?: number;
}

/** Publish and consume Vigil events on JetStream: validated, traced, dead-lettered. */
export class EventBus {
  readonly js: JetStreamClient;
  readonly service: string;
  readonly log: Logger;
  private readonly metrics?: VigilMetrics;
  private readonly publishDeps: PublishDeps;
  private readonly drainTimeoutMs: number;
  private jsmPromise?: Promise<JetStreamManager>;
  private readonly consumers = new Set<ConsumerHandle>();

  constructor(
    readonly nc: NatsConnection,
    opts: EventBusOptions,
  ) {
    this.service = opts.service;
    this.log = opts.logger;
    this.js = nc.jetstream();
    this.metrics = opts.registry ? vigilMetrics(opts.registry) : undefined;
    this.drainTimeoutMs = opts.drainTimeoutMs ?? 15_000;
    this.publishDeps = {
      js: jetStreamPublisher(nc),
      service: opts.service,
      metrics: this.metrics,
      timeoutMs: opts.publishTimeoutMs ?? 5_000,
    };
  }

  jetstreamManager(): Promise<JetStreamManager> {
    if (!this.jsmPromise) {
      this.jsmPromise = this.nc.jetstreamManager();
      this.jsmPromise.catch(() => (this.jsmPromise = undefined));
    }
    return this.jsmPromise;
  }

  /**
   * Validates `data` with the subject's schema (ValidationError), wraps it in a CloudEvent and
   * publishes it durably. Rejects with TransientError NATS_UNAVAILABLE when not stored in time.
   */
  publish<T>(subject: string, data: T, opts?: PublishOptions): Promise<PubAck> {
    return publishEvent(this.publishDeps, subject, data, opts);
  }

  /** Starts a durable pull consumer (see ConsumeOptions). Throws if it cannot be set up. */
  async consume<T>(opts: ConsumeOptions<T>): Promise<ConsumerHandle> {
    const deps: ConsumeDeps = {
      js: this.js,
      jsm: await this.jetstreamManager(),
      logger: this.log,
      metrics: this.metrics,
      publishTimeoutMs: this.publishDeps.timeoutMs,
      stopTimeoutMs: this.drainTimeoutMs,
    };
    const handle = await startConsumer(deps, opts);
    this.consumers.add(handle);
    return handle;
  }

  /** Stops every consumer (no new messages) and waits for in-flight handlers, bounded. */
  async drain(timeoutMs = this.drainTimeoutMs): Promise<void> {
    const all = [...this.consumers];
    this.consumers.clear();
    await Promise.all(all.map((c) => c.stop(timeoutMs)));
  }

  async ensureStreams(opts?: EnsureStreamsOptions): Promise<void> {
    await ensureStreams(await this.jetstreamManager(), opts);
  }

  async listDlq(opts?: ListDlqOptions): Promise<DlqEntry[]> {
    return listDlq(await this.jetstreamManager(), opts);
  }

  /** Re-drives one dead letter (see replayDlq): published again, then removed from the DLQ. */
  async replayDlq(seq: number): Promise<DlqReplay> {
    const r = await replayDlq(this.js, await this.jetstreamManager(), seq);
    // The replay stands; only the DLQ depth stays up until someone removes or replays the entry again.
    if (!r.removed) this.log.warn({ dlqSeq: seq, reason: r.keptReason }, 'dead letter replayed but kept in the DLQ');
    return r;
  }

  async dlqDepth(): Promise<number> {
    return dlqDepth(await this.jetstreamManager());
  }

  openKv(bucket: string, opts?: OpenKvOptions): Promise<KV> {
    return openKv(this.js, bucket, opts);
  }
}
