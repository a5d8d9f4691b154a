import {
  type BreakerOptions,
  classify,
  createBreaker,
  errorCodeOf,
  type EventPublisher,
  ErrorCode,
  type Logger,
  retry,
  SpanKind,
  TransientError,
  withSpan,
} from '@vigil/shared';
import { type SendInfo, type SentMail, sentMailOf } from './sent-mail.js';
import { createSmtpTransport, responseCode, smtpCallBoundMs, typedSmtpError } from './smtp-transport.js';

export interface OutgoingMail {
  to: string[];
  subject: string;
  html: string;
  text: string;
  /** Extra headers, e.g. the event id for tracing a mail back to its event. */
  headers?: Record<string, string>;
  /**
   * A Message-ID fixed by the notification, so a copy re-sent after a crash between SMTP acceptance and the
   * dedupe record is the same message to mail servers and clients (they collapse it).
   */
  messageId?: string;
}

export type SmtpState = 'closed' | 'open' | 'half-open';

export interface SmtpStatus {
  /** The SMTP breaker's state: closed = email works. */
  state: SmtpState;
  /**
   * closed: since when email works (start, or the last recovery); open or half-open: since when it does not (the
   * breaker's first opening in this outage; it goes round open → half-open → open while SMTP stays down).
   */
  since: number;
  /** The last SMTP failure, for readiness and logs (no secrets: nodemailer errors carry no credentials). */
  lastError?: string;
}

export interface SmtpChannel {
  send(mail: OutgoingMail): Promise<SentMail>;
  status(): SmtpStatus;
  /** `fn` runs each time the breaker closes again after an outage (a probe or a send got through). */
  onRecovered(fn: () => void): void;
  close(): void;
}

export interface SmtpChannelOptions {
  url: string;
  from: string;
  timeoutMs: number;
  breakerResetMs: number;
  logger: Logger;
  registry?: BreakerOptions['registry'];
  bus?: EventPublisher;
  /** Quick retries before the fallback channel takes over (default 2). */
  retries?: number;
  /** Aborted when the service starts shutting down: running sends get `shutdownGraceMs` more, then fail. */
  signal?: AbortSignal;
  /** Default min(timeoutMs, 5 s). */
  shutdownGraceMs?: number;
}

type Transport = ReturnType<typeof createSmtpTransport>;

/** One call through the breaker: an alert, or the probe sent when the breaker half-opens. */
type SmtpCall = { mail: OutgoingMail; probe?: undefined } | { probe: true; mail?: undefined };

/**
 * Pooled SMTP behind a breaker. `maxMessages: Infinity` keeps pooled connections open instead of reconnecting
 * every 100 mails (p99 ~10 ms instead of ~106 ms, see the performance budget). TLS and auth come from the URL
 * (smtps:// or STARTTLS when offered; user:pass@).
 *
 * No call can hang: each is bounded by smtpCallBoundMs (a stuck one recreates the pool), the pool is recreated
 * whenever the breaker opens (the half-open probe then starts from fresh connections), and the probe is sent by
 * the channel itself as soon as the breaker half-opens, so the breaker closes within SMTP_BREAKER_RESET plus one
 * probe after SMTP is back, whether or not an alert happens to be retried just then.
 */
export function createSmtpChannel(opts: SmtpChannelOptions): SmtpChannel {
  const log = opts.logger;
  const boundMs = smtpCallBoundMs(opts.timeoutMs);
  const graceMs = opts.shutdownGraceMs ?? Math.min(opts.timeoutMs, 5_000);

  const makeTransport = () => {
    const t = createSmtpTransport(opts.url, opts.timeoutMs);
    // A pool error must never crash the process: the next send reconnects.
    t.on('error', (err: Error) => log.warn({ err }, 'smtp pool error'));
    return t;
  };

  let transport = makeTransport();
  let closed = false;
  let lastError: string | undefined;
  let since = Date.now();
  let down = false;
  const recoveredListeners: Array<() => void> = [];

  let recycledBecause = '';
  /** Replaces the pool; the old one finishes (or times out) what it is sending and then closes. */
  const recycle = (old: Transport, why: string) => {
    if (closed || old !== transport) return;
    recycledBecause = why;
    transport = makeTransport();
    old.close();
    log.warn({ why }, 'SMTP pool recreated');
  };

  // Calls running now, each with its reject: shutdown and close() end them instead of waiting for their bound.
  const running = new Set<(err: Error, aboutServer?: boolean) => void>();
  let abandoning = false;
  const shutdownError = () =>
    new TransientError('SMTP call abandoned: the notifier is shutting down', { code: ErrorCode.SHUTTING_DOWN });
  const abandonAll = () => {
    abandoning = true;
    for (const fail of [...running]) fail(shutdownError(), false);
  };
  opts.signal?.addEventListener(
    'abort',
    () => {
      // A healthy send takes milliseconds: one still running after the grace is stuck and must not hold the
      // consumers' drain (and so the whole shutdown) for its full bound.
      const t = setTimeout(abandonAll, graceMs);
      t.unref();
    },
    { once: true },
  );

  const bounded = <T>(what: 'send' | 'probe', work: (t: Transport) => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (abandoning) {
        reject(shutdownError());
        return;
      }
      const used = transport;
      let done = false;
      const settle = (fn: () => void) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        running.delete(fail);
        fn();
      };
      // `aboutServer` false: the error says why we gave up on the call, not what the server did; it must not
      // replace the last real failure in readiness.
      const fail = (err: Error, aboutServer = true) =>
        settle(() => {
          if (aboutServer) lastError = err.message;
          reject(err);
        });
      const timer = setTimeout(() => {
        // The pooled connection (or the queue behind it) may be wedged: later calls get a fresh pool.
        recycle(used, `an SMTP ${what} timed out after ${boundMs} ms`);
        fail(
          new TransientError(`SMTP ${what} timed out after ${boundMs} ms (2 × SMTP_TIMEOUT)`, {
            code: ErrorCode.TIMEOUT,
            details: { timeoutMs: boundMs },
          }),
        );
      }, boundMs);
      running.add(fail);
      work(used).then(
        (v) => settle(() => resolve(v)),
        (err: unknown) => {
          if (used !== transport && responseCode(err) === undefined) {
            // Failed because its pool was closed under it ("Connection pool was closed"): say why it was closed,
            // so the breaker's last error (quoted in the fallback message) keeps the real cause.
            const cut = new TransientError(
              `SMTP ${what} cut short: the connection pool was recreated (${recycledBecause})`,
              {
                code: ErrorCode.SMTP_FAILED,
                cause: err,
              },
            );
            fail(cut, false);
            return;
          }
          fail(typedSmtpError(err, what));
        },
      );
    });

  const sendOnce = (mail: OutgoingMail): Promise<SentMail> =>
    // One span per SMTP hand-off, so the email is part of the incident's trace.
    withSpan(
      'smtp.send',
      () =>
        bounded('send', async (t) => {
          const info = (await t.sendMail({
            from: opts.from,
            to: mail.to,
            subject: mail.subject,
            html: mail.html,
            text: mail.text,
            headers: mail.headers,
            ...(mail.messageId ? { messageId: mail.messageId } : {}),
          })) as SendInfo;
          return sentMailOf(mail.to, info);
        }),
      { kind: SpanKind.CLIENT, attributes: { 'messaging.system': 'smtp', 'smtp.recipients': mail.to.length } },
    );

  /** Connect, greeting, EHLO, STARTTLS and login, then QUIT: what a send needs from the server, without a mail. */
  const probeOnce = (): Promise<SentMail> =>
    bounded('probe', async (t) => {
      await t.verify();
      return { messageId: '', accepted: [], refused: [] };
    });

  const breaker = createBreaker('smtp', (call: SmtpCall) => (call.probe ? probeOnce() : sendOnce(call.mail)), {
    service: 'notifier',
    bus: opts.bus,
    registry: opts.registry,
    resetTimeoutMs: opts.breakerResetMs,
    // A backstop only: every call already ends at boundMs with a typed error. This guarantees that the one
    // half-open trial settles (and so the breaker leaves half-open) even if that path ever failed to.
    timeoutMs: boundMs + 1_000,
    // As the default (validation and permanent errors, e.g. an SMTP 5xx, do not count), and a call cut short by
    // shutdown says nothing about the server.
    isFailure: (err) => {
      const c = classify(err);
      return c !== 'validation' && c !== 'permanent' && errorCodeOf(err) !== ErrorCode.SHUTTING_DOWN;
    },
    logger: log,
  });

  breaker.on('open', () => {
    if (!down) {
      down = true;
      since = Date.now();
    }
    // Connections that just failed (or never answered) are not reused for the probe.
    recycle(transport, `breaker opened after: ${lastError ?? 'SMTP failures'}`);
  });
  breaker.on('halfOpen', () => {
    if (closed) return;
    // Probe now rather than wait for the next alert's redelivery (which backs off up to 5 min): readiness, the
    // breaker gauge and the alerts waiting for SMTP all follow the server's real state within one reset period.
    breaker.fire({ probe: true }).then(
      () => log.info('SMTP probe succeeded; email delivery resumes'),
      (err: unknown) => {
        // an alert took the one trial call first: its outcome closes or re-opens the breaker
        if (errorCodeOf(err) === ErrorCode.BREAKER_OPEN) return;
        log.warn({ err }, 'SMTP probe failed; the breaker stays open');
      },
    );
  });
  breaker.on('close', () => {
    down = false;
    since = Date.now();
    for (const fn of recoveredListeners) fn();
  });

  return {
    send: (mail) =>
      retry(() => breaker.fire({ mail }), {
        max: opts.retries ?? 2,
        base: 200,
        cap: 1_000,
        // An open breaker means SMTP is known to be down: go to the fallback now. A call that ran into its bound
        // is not repeated either: the server hangs, and the alert would sit out the bound again.
        shouldRetry: (err) =>
          !opts.signal?.aborted &&
          err instanceof TransientError &&
          err.code !== ErrorCode.BREAKER_OPEN &&
          err.code !== ErrorCode.TIMEOUT,
        onRetry: (err, attempt, delayMs) => log.warn({ err, attempt, delayMs }, 'smtp send failed, retrying'),
      }),
    status: () => {
      const s: SmtpStatus = { state: breaker.state, since };
      if (lastError !== undefined) s.lastError = lastError;
      return s;
    },
    onRecovered: (fn) => {
      recoveredListeners.push(fn);
    },
    close: () => {
      closed = true;
      abandonAll();
      breaker.shutdown();
      transport.close();
    },
  };
}
