import type { ConsumerMessages, JsMsg } from 'nats';
import type { Logger } from 'pino';
import { ValidationError } from '../errors/vigil-error.js';
import { backoffDelay } from '../resilience/backoff.js';
import { DeliveryHandler } from './consume-delivery.js';
import type { ConsumeDeps, ConsumeOptions, ConsumerHandle } from './consume-options.js';
import { ensureDurable } from './consumer-config.js';
import { streamForSubject } from './streams.js';

/**
 * Lifetime of one pull request on the server. A replica that dies without the server noticing (host gone,
 * network cut: no FIN) leaves its pull requests queued ahead of the live replicas', and each message they
 * catch waits out ack-wait. nats.js defaults to 30 s; 5 s bounds that window. Only idle pulls expire, so
 * throughput is unchanged: under load a pull is filled long before (batch size = prefetch).
 */
const PULL_EXPIRES_MS = 5_000;
/** Server heartbeats on an idle pull: two missed = the pull is gone (server restarted), pull again at once. */
const PULL_IDLE_HEARTBEAT_MS = 2_000;

class Consumer<T> implements ConsumerHandle {
  readonly stream: string;
  readonly subject: string;
  readonly durable: string;
  private readonly concurrency: number;
  private readonly abort = new AbortController();
  private readonly delivery: DeliveryHandler<T>;
  private readonly log: Logger;
  private messages?: ConsumerMessages;
  private stopping = false;
  private active = 0;
  private slotWaiter?: () => void;
  private idleWaiters: Array<() => void> = [];
  private loopDone?: Promise<void>;
  private wake?: () => void;

  constructor(
    private readonly deps: ConsumeDeps,
    private readonly opts: ConsumeOptions<T>,
  ) {
    const stream = opts.stream ?? streamForSubject(opts.subject);
    if (!stream) throw new ValidationError(`no stream captures subject ${opts.subject}`);
    this.stream = stream;
    this.subject = opts.subject;
    this.durable = opts.durable;
    this.concurrency = Math.max(1, opts.concurrency ?? 1);
    this.log = deps.logger.child({ consumer: opts.durable, stream });
    this.delivery = new DeliveryHandler(deps, opts, {
      durable: opts.durable,
      maxDeliver: Math.max(1, opts.maxDeliver ?? 5),
      log: this.log,
      signal: this.abort.signal,
      stopping: () => this.stopping,
    });
  }

  get inFlight(): number {
    return this.active;
  }

  private async open(): Promise<ConsumerMessages> {
    await ensureDurable(this.deps.jsm, {
      stream: this.stream,
      durable: this.durable,
      subject: this.subject,
      ackWaitMs: this.opts.ackWaitMs ?? 30_000,
      deliverPolicy: this.opts.deliverPolicy ?? 'all',
      maxAckPending: this.opts.maxAckPending,
    });
    const consumer = await this.deps.js.consumers.get(this.stream, this.durable);
    const prefetch = Math.max(1, this.opts.prefetch ?? this.concurrency);
    const messages = await consumer.consume({
      max_messages: prefetch,
      expires: PULL_EXPIRES_MS,
      idle_heartbeat: PULL_IDLE_HEARTBEAT_MS,
    });
    this.messages = messages;
    void this.watch(messages);
    return messages;
  }

  /**
   * nats.js keeps polling a deleted consumer forever without recreating it: end the iterator so
   * supervise() re-creates the durable (or waits for the stream to come back).
   */
  private async watch(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const s of await messages.status()) {
        if (s.type === 'consumer_deleted' || s.type === 'consumer_not_found' || s.type === 'stream_not_found') {
          this.log.warn({ status: s.type }, 'consumer or stream gone; re-creating');
          messages.stop();
          return;
        }
      }
    } catch {
      // the iterator closed: nothing to watch
    }
  }

  /** Throws when the consumer cannot be set up (missing stream, bad config): callers must know. */
  async start(): Promise<void> {
    const first = await this.open();
    this.loopDone = this.supervise(first);
  }

  /** The pull iterator survives reconnects on its own; if it ends anyway, re-open it until stopped. */
  private async supervise(first: ConsumerMessages): Promise<void> {
    let messages: ConsumerMessages | undefined = first;
    let failures = 0;
    while (!this.stopping) {
      if (messages) {
        await this.loop(messages);
        messages = undefined;
        if (this.stopping) break;
        this.log.warn('consumer iterator ended; re-opening');
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, backoffDelay(failures + 1, { base: 250, cap: 5_000, jitter: 'none' }));
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
      this.wake = undefined;
      if (this.stopping) break;
      try {
        messages = await this.open();
        failures = 0;
      } catch (err) {
        failures++;
        this.log.error({ err }, 'could not re-open consumer; retrying');
      }
    }
  }

  private async loop(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const m of messages) {
        if (this.stopping) {
          m.nak(); // hand it back at once instead of waiting out ack-wait
          continue;
        }
        this.active++;
        void this.process(m);
        if (this.active >= this.concurrency) await new Promise<void>((r) => (this.slotWaiter = r));
      }
    } catch (err) {
      if (!this.stopping) this.log.error({ err }, 'consumer loop failed');
    }
  }

  private done(): void {
    this.active--;
    const w = this.slotWaiter;
    if (w) {
      this.slotWaiter = undefined;
      w();
    }
    if (this.active === 0 && this.idleWaiters.length > 0) {
      const ws = this.idleWaiters;
      this.idleWaiters = [];
      for (const r of ws) r();
    }
  }

  private async process(m: JsMsg): Promise<void> {
    try {
      await this.delivery.process(m);
    } finally {
      this.done();
    }
  }

  async stop(timeoutMs = this.deps.stopTimeoutMs): Promise<void> {
    if (this.stopping) return this.waitIdle(timeoutMs);
    this.stopping = true;
    this.messages?.stop();
    this.wake?.();
    await this.waitIdle(timeoutMs);
    this.abort.abort(new Error('consumer stopped'));
    await this.loopDone;
  }

  private async waitIdle(timeoutMs: number): Promise<void> {
    if (this.active === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<void>((r) => this.idleWaiters.push(r));
    const deadline = new Promise<void>((r) => {
      timer = setTimeout(() => {
        this.log.warn({ inFlight: this.active }, 'stop: in-flight handlers still running at the deadline');
        r();
      }, timeoutMs);
    });
    await Promise.race([idle, deadline]);
    clearTimeout(timer);
    // let slot waiters proceed so the loop can observe the stop
    this.slotWaiter?.();
  }
}

/** Starts a durable pull consumer; see ConsumeOptions for the delivery rules. */
export async function startConsumer<T>(deps: ConsumeDeps, opts: ConsumeOptions<T>): Promise<ConsumerHandle> {
  const c = new Consumer<T>(deps, opts);
  await c.start();
  return c;
}

export {
  type ConsumeDeps,
  type ConsumeOptions,
  type ConsumerHandle,
  type EventHandler,
  retryDelay,
} from './consume-options.js';
