import { createInbox, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from 'nats';

/** A message delivered by a JetStream pull consumer, with its acknowledgement verbs. */
export interface PulledMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers?: MsgHdrs;
  /** One header's first value, or undefined (cheaper than `headers` when one or two values are wanted). */
  header(name: string): string | undefined;
  readonly info: {
    stream: string;
    consumer: string;
    streamSequence: number;
    deliveryCount: number;
    redelivered: boolean;
  };
  /** Done: the stream forgets it for this consumer. Ignored after ack, nak or term. */
  ack(): void;
  /** Deliver again after `delayMs` (default: at once). */
  nak(delayMs?: number): void;
  /** Still working: restarts the ack wait. */
  working(): void;
  /** Never deliver again (it was dead-lettered). */
  term(): void;
}

export interface PullConsumerOptions {
  stream: string;
  durable: string;
  /** Called once per delivered message, synchronously from the connection's read loop. */
  onMessage: (msg: PulledMessage) => void;
  /**
   * The consumer may be gone (deleted, leadership change, or a pull request went unanswered — nats-server 2.9
   * stays silent when the consumer does not exist): make sure it exists, then pull again.
   */
  onLost?: (reason: string) => void;
  /** A pull request ended without all it asked for (it expired or was refused): time to ask again. */
  onDrained?: () => void;
  /** How long one pull request waits for messages (default 5 s). */
  expiresMs?: number;
}

const enc = new TextEncoder();
const ACK = enc.encode('+ACK');
const WPI = enc.encode('+WPI');
const TERM = enc.encode('+TERM');
const NAK = enc.encode('-NAK');
/** A pull request not answered this long after its expiry is considered gone (lost in a reconnect). */
const EXPIRY_GRACE_MS = 2_000;
/** After a refused pull request ("Exceeded MaxWaiting"), how long before the owner is told to ask again. */
const REFUSED_RETRY_MS = 1_000;

/**
 * The raw header block of a nats.js message (null: it has none), read from nats.js 2.x's MsgImpl fields; undefined
 * when those are not there (another nats.js), and callers fall back to `msg.headers`. Decoding every header into
 * nats.js's map to read one value allocated more per run than the rest of the delivery.
 */
function rawHeaderBlock(msg: Msg): Uint8Array | null | undefined {
  const m = msg as unknown as { _msg?: { hdr?: unknown }; _rdata?: unknown };
  const hdr = m._msg?.hdr;
  if (typeof hdr !== 'number' || !(m._rdata instanceof Uint8Array)) return undefined;
  return hdr < 0 ? null : m._rdata.subarray(0, hdr);
}

/** Dot positions of the ack subject being read (reused: reading is synchronous). */
const dots: number[] = [];

/** The decimal number in `s` between `from` and `to` (ack subject tokens are plain digits). */
function digits(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n = n * 10 + (s.charCodeAt(i) - 48);
  return n;
}

/**
 * What a JetStream ack subject says about a delivery, read in place: splitting it built a dozen strings per message
 * for the two numbers every run needs. Stream and consumer names are cut out only when asked for.
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>` (nats-server 2.9), or with
 * `<domain>.<account hash>` after ACK and a random token at the end (newer servers).
 */
export class AckSubjectInfo {
  readonly deliveryCount: number;
  readonly streamSequence: number;
  readonly redelivered: boolean;
  private readonly streamStart: number;
  private readonly streamEnd: number;
  private readonly consumerEnd: number;

  constructor(private readonly reply: string) {
    let n = 0;
    for (let at = reply.indexOf('.'); at >= 0 && n < 12; at = reply.indexOf('.', at + 1)) dots[n++] = at;
    // Token k ends at dots[k] and starts after dots[k - 1].
    const b = n === 8 ? 2 : 4;
    this.streamStart = dots[b - 1] + 1;
    this.streamEnd = dots[b];
    this.consumerEnd = dots[b + 1];
    this.deliveryCount = digits(reply, dots[b + 1] + 1, dots[b + 2]);
    this.streamSequence = digits(reply, dots[b + 2] + 1, dots[b + 3]);
    this.redelivered = this.deliveryCount > 1;
  }

  get stream(): string {
    return this.reply.slice(this.streamStart, this.streamEnd);
  }

  get consumer(): string {
    return this.reply.slice(this.streamEnd + 1, this.consumerEnd);
  }
}

class Delivered implements PulledMessage {
  private settled = false;
  /** The request's header block as text (null: none), once a header was asked for. */
  private headerText?: string | null;
  readonly info: PulledMessage['info'];

  constructor(
    private readonly nc: NatsConnection,
    private readonly msg: Msg,
    reply: string,
  ) {
    this.info = new AckSubjectInfo(reply);
  }

  get subject(): string {
    return this.msg.subject;
  }

  get data(): Uint8Array {
    return this.msg.data;
  }

  get headers(): MsgHdrs | undefined {
    return this.msg.headers;
  }

  header(name: string): string | undefined {
    if (this.headerText === undefined) {
      const raw = rawHeaderBlock(this.msg);
      if (raw === undefined) return this.msg.headers?.get(name) || undefined;
      // Decoded once: a run reads two or three headers of its request.
      this.headerText = raw === null ? null : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
    }
    const text = this.headerText;
    if (text === null) return undefined;
    // The block is `NATS/1.0…\r\n` then `Name: value\r\n` lines: every header line follows a \r\n.
    const key = `\r\n${name}:`;
    const at = text.indexOf(key);
    if (at < 0) return undefined;
    const start = at + key.length;
    const end = text.indexOf('\r\n', start);
    return text.slice(start, end < 0 ? undefined : end).trim() || undefined;
  }

  private respond(body: Uint8Array, final: boolean): void {
    if (this.settled) return;
    if (final) this.settled = true;
    // A reply to a message the server no longer waits for is harmless; a closed connection is not ours to report.
    if (!this.nc.isClosed()) this.nc.publish(this.msg.reply as string, body);
  }

  ack(): void {
    this.respond(ACK, true);
  }

  nak(delayMs?: number): void {
    this.respond(delayMs ? enc.encode(`-NAK {"delay":${Math.round(delayMs * 1e6)}}`) : NAK, true);
  }

  working(): void {
    this.respond(WPI, false);
  }

  term(): void {
    this.respond(TERM, true);
  }
}

/**
 * A JetStream pull consumer driven by callbacks: `pull(n)` asks for up to n messages and each one is handed to
 * `onMessage` as it arrives. nats.js's `fetch`/`consume` iterators wrap every message in an async iterator step and
 * a JsMsg; on a runner doing tens of thousands of short runs per second that bookkeeping cost more than the run.
 * The owner decides how much to ask for (`outstanding` tells what is already asked and not yet delivered), so
 * nothing waits unseen in a client buffer.
 */
export class PullConsumer {
  private readonly inbox = createInbox();
  private readonly sub: Subscription;
  /**
   * Open pull requests, oldest first, for their expiry only: the server serves several waiting requests of one
   * client round-robin, so which request a message belongs to is unknown; the total is exact.
   */
  private requests: { n: number; expiresAt: number }[] = [];
  private total = 0;
  private readonly subject: string;
  private stopped = false;
  private readonly watchdog: ReturnType<typeof setInterval>;
  private refusedRetry?: ReturnType<typeof setTimeout>;

  constructor(
    private readonly nc: NatsConnection,
    private readonly opts: PullConsumerOptions,
  ) {
    this.subject = `$JS.API.CONSUMER.MSG.NEXT.${opts.stream}.${opts.durable}`;
    this.sub = nc.subscribe(this.inbox, { callback: (_err, msg) => this.receive(msg) });
    this.watchdog = setInterval(() => this.forgetExpired(), 1_000);
    this.watchdog.unref();
  }

  /** Messages asked for and not yet delivered (pull requests that have not expired). */
  get outstanding(): number {
    this.forgetExpired();
    return this.total;
  }

  /** Asks the server for up to `n` more messages. */
  pull(n: number): void {
    if (this.stopped || n <= 0 || this.nc.isClosed()) return;
    const expiresMs = this.opts.expiresMs ?? 5_000;
    this.requests.push({ n, expiresAt: Date.now() + expiresMs });
    this.total += n;
    this.nc.publish(this.subject, enc.encode(`{"batch":${n},"expires":${expiresMs * 1_000_000}}`), {
      reply: this.inbox,
    });
  }

  /** Forgets every open pull request (after a reconnect the server may no longer hold them). */
  reset(): void {
    this.requests = [];
    this.total = 0;
  }

  stop(): void {
    this.stopped = true;
    this.reset();
    clearInterval(this.watchdog);
    clearTimeout(this.refusedRetry);
    this.sub.unsubscribe();
  }

  /** Requests past their expiry with no answer (no 408) were lost: a reconnect, or no such consumer. */
  private forgetExpired(): void {
    if (this.requests.length === 0 || this.requests[0].expiresAt >= Date.now() - EXPIRY_GRACE_MS) return;
    // Every later request expires later, but their answers cannot be told apart from the lost one's: start over.
    this.reset();
    if (!this.stopped) this.opts.onLost?.('pull request unanswered');
  }

  /** `n` asked-for messages will not come. */
  private settle(n: number): void {
    this.total = Math.max(0, this.total - n);
    if (this.total === 0) this.requests = [];
  }

  private receive(msg: Msg): void {
    const reply = msg.reply;
    if (reply?.startsWith('$JS.ACK.')) {
      if (this.total > 0 && --this.total === 0) this.requests = [];
      if (!this.stopped) this.opts.onMessage(new Delivered(this.nc, msg, reply));
      return;
    }
    const code = msg.headers?.code ?? 0;
    if (code === 408) {
      // The oldest request expired; the server says how much of it was never delivered.
      const expired = this.requests.shift();
      const pending = Number(msg.headers?.get('Nats-Pending-Messages'));
      this.settle(Number.isFinite(pending) && pending > 0 ? pending : (expired?.n ?? 0));
      this.opts.onDrained?.();
    } else if (code === 409 || code === 503) {
      // 503: nobody answers the consumer's pull subject (it does not exist).
      const why = msg.headers?.description || (code === 503 ? 'consumer not found' : 'conflict');
      if (code === 503 || /deleted|leadership/i.test(why)) {
        this.reset();
        if (!this.stopped) this.opts.onLost?.(why);
      } else {
        // e.g. "Exceeded MaxWaiting": the newest request was refused. The server holds as many waiting requests as
        // it takes (often ours from a connection before a reconnect, until they expire): asking again at once only
        // earns another refusal per round trip (a live stack logged a thousand of them), so ask again a second later.
        this.settle(this.requests.pop()?.n ?? 0);
        if (!this.refusedRetry) {
          this.refusedRetry = setTimeout(() => {
            this.refusedRetry = undefined;
            if (!this.stopped) this.opts.onDrained?.();
          }, REFUSED_RETRY_MS);
          this.refusedRetry.unref();
        }
      }
    }
    // 100 (idle heartbeat) and 404 (no messages, only for no_wait requests): nothing to do.
  }
}
