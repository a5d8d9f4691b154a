import { createInbox, type MsgHdrs, type NatsConnection, type PubAck, type Subscription } from 'nats';
import { isMsgHdrs } from '../nats/msg-hdrs.js';
import { headerValue } from './headers.js';

/** The failure of one JetStream publish, shaped like nats.js errors (`code`, `api_error`) for shared classifiers. */
export class JetStreamPublishError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly api_error?: { code: number; err_code?: number; description: string },
  ) {
    super(message);
    this.name = 'JetStreamPublishError';
  }
}

export interface JetStreamPublishOptions {
  msgID?: string;
  /** nats.js headers, or plain name → value pairs (encoded straight to bytes: the cheaper form). */
  headers?: MsgHdrs | Record<string, string>;
  /** How long to wait for the PubAck (default 2 s); then the promise rejects with code TIMEOUT. */
  timeoutMs?: number;
}

interface Waiting {
  resolve: (ack: PubAck) => void;
  reject: (err: JetStreamPublishError) => void;
  subject: string;
  deadline: number;
}

const decoder = new TextDecoder();
const SWEEP_MS = 100;

/** Header values must not break the header block (nor be cut: ids and trace context go through whole). */
const lineValue = (v: string) => headerValue(v, Number.POSITIVE_INFINITY);
/** Nor may names (no line breaks, colons or spaces in a header name). */
const headerName = (k: string) => (/[\r\n: ]/.test(k) ? k.replace(/[\r\n: ]+/g, '-') : k);

/**
 * A NATS header block encoded once from plain pairs. nats.js's MsgHdrs keeps a Map of arrays, canonicalises every
 * key on each set and re-encodes on publish: several allocations per message on a path that publishes one event per
 * run. nats.js only calls `encode()` on the headers it publishes (protocol.publish), which this provides.
 */
class EncodedHeaders {
  private readonly bytes: Uint8Array;

  constructor(pairs: Record<string, string>, msgID: string | undefined) {
    let block = 'NATS/1.0\r\n';
    if (msgID) block += `Nats-Msg-Id: ${lineValue(msgID)}\r\n`;
    for (const k in pairs) {
      // msgID wins over a Nats-Msg-Id pair: one id per message.
      if (msgID && k.toLowerCase() === 'nats-msg-id') continue;
      block += `${headerName(k)}: ${lineValue(pairs[k])}\r\n`;
    }
    this.bytes = Buffer.from(`${block}\r\n`);
  }

  encode(): Uint8Array {
    return this.bytes;
  }
}

/**
 * JetStream publishing with one reply subscription and one timer for every publish in flight. nats.js builds a
 * request object, a timer and a cancellation Error (a stack capture) per `js.publish`; on a busy runner that was
 * a third of a run's CPU. Here a publish is a core publish with a reply subject `<inbox>.<n>`, and its PubAck
 * (or error, or 503 "no stream for this subject") settles the promise. Deadlines are swept every 100 ms.
 * One per connection: use `jetStreamPublisher(nc)`.
 */
export class JetStreamPublisher {
  private readonly inbox = createInbox();
  private readonly waiting = new Map<number, Waiting>();
  private sub?: Subscription;
  private sweeper?: ReturnType<typeof setInterval>;
  private next = 0;

  constructor(private readonly nc: NatsConnection) {}

  get inFlight(): number {
    return this.waiting.size;
  }

  publish(subject: string, data: Uint8Array, opts: JetStreamPublishOptions = {}): Promise<PubAck> {
    if (this.nc.isClosed()) {
      return Promise.reject(new JetStreamPublishError(`publish ${subject}: connection closed`, 'CONNECTION_CLOSED'));
    }
    this.sub ??= this.nc.subscribe(`${this.inbox}.*`, { callback: (_err, msg) => this.settle(msg) });
    let h: MsgHdrs;
    if (opts.headers && isMsgHdrs(opts.headers)) {
      h = opts.headers;
      if (opts.msgID) h.set('Nats-Msg-Id', opts.msgID);
    } else {
      h = new EncodedHeaders(opts.headers ?? {}, opts.msgID) as unknown as MsgHdrs;
    }
    const token = ++this.next;
    const promise = new Promise<PubAck>((resolve, reject) => {
      this.waiting.set(token, { resolve, reject, subject, deadline: Date.now() + (opts.timeoutMs ?? 2_000) });
    });
    try {
      this.nc.publish(subject, data, { reply: `${this.inbox}.${token}`, headers: h });
    } catch (err) {
      this.waiting.delete(token);
      const code = (err as { code?: unknown }).code;
      return Promise.reject(
        new JetStreamPublishError(`publish ${subject}: ${(err as Error).message}`, String(code ?? 'PUBLISH')),
      );
    }
    if (!this.sweeper) {
      this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
      this.sweeper.unref();
    }
    return promise;
  }

  /** Rejects every publish still waiting (the connection is going away). */
  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const [token, w] of this.waiting) {
      this.waiting.delete(token);
      w.reject(new JetStreamPublishError(`publish ${w.subject}: publisher closed`, 'CONNECTION_CLOSED'));
    }
    this.sub?.unsubscribe();
    this.sub = undefined;
  }

  private settle(msg: { subject: string; data: Uint8Array; headers?: MsgHdrs }): void {
    const token = Number(msg.subject.slice(this.inbox.length + 1));
    const w = this.waiting.get(token);
    if (!w) return; // already timed out: the caller has retried (same Nats-Msg-Id) or given up
    this.waiting.delete(token);
    const status = msg.headers?.code ?? 0;
    if (status >= 300) {
      // 503: no stream listens on this subject (or JetStream is not available right now).
      w.reject(
        new JetStreamPublishError(`publish ${w.subject}: ${msg.headers?.description || status}`, String(status)),
      );
      return;
    }
    let ack: PubAck & { error?: { code: number; err_code?: number; description: string } };
    try {
      ack = JSON.parse(decoder.decode(msg.data));
    } catch {
      w.reject(new JetStreamPublishError(`publish ${w.subject}: unreadable PubAck`, 'BAD_PUBACK'));
      return;
    }
    if (ack.error) {
      w.reject(
        new JetStreamPublishError(`publish ${w.subject}: ${ack.error.description}`, String(ack.error.code), ack.error),
      );
      return;
    }
    ack.duplicate = ack.duplicate === true;
    w.resolve(ack);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [token, w] of this.waiting) {
      if (w.deadline > now) continue;
      this.waiting.delete(token);
      w.reject(new JetStreamPublishError(`publish ${w.subject}: no PubAck in time`, 'TIMEOUT'));
    }
    if (this.waiting.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }
}

const publishers = new WeakMap<NatsConnection, JetStreamPublisher>();

/** The connection's publisher (created on first use, closed with the connection). */
export function jetStreamPublisher(nc: NatsConnection): JetStreamPublisher {
  let p = publishers.get(nc);
  if (!p) {
    const created = new JetStreamPublisher(nc);
    p = created;
    publishers.set(nc, created);
    void nc.closed().then(() => created.close());
  }
  return p;
}
