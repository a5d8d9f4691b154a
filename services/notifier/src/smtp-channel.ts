import {
  type Breaker,
  type BreakerOptions,
  createBreaker,
  type EventPublisher,
  ErrorCode,
  type Logger,
  PermanentError,
  retry,
  SpanKind,
  TransientError,
  withSpan,
} from '@vigil/shared';
import nodemailer from 'nodemailer';
import { noDelaySocket, smtpOptionsFromUrl } from './smtp-options.js';

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

export interface SmtpChannel {
  send(mail: OutgoingMail): Promise<{ messageId: string }>;
  readonly breaker: Breaker<[OutgoingMail], { messageId: string }>;
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
}

function responseCode(err: unknown): number | undefined {
  const v = typeof err === 'object' && err !== null ? (err as { responseCode?: unknown }).responseCode : undefined;
  return typeof v === 'number' ? v : undefined;
}

/** SMTP 5xx replies repeat on retry (bad recipient, policy); everything else (network, 4xx) may pass. */
function typedSmtpError(err: unknown): Error {
  const code = responseCode(err);
  const message = `SMTP send failed: ${err instanceof Error ? err.message : String(err)}`;
  if (code !== undefined && code >= 500) {
    return new PermanentError(message, { code: ErrorCode.SMTP_FAILED, cause: err, details: { responseCode: code } });
  }
  return new TransientError(message, { code: ErrorCode.SMTP_FAILED, cause: err, details: { responseCode: code } });
}

/**
 * Pooled SMTP behind a breaker. `maxMessages: Infinity` keeps pooled connections open instead of reconnecting
 * every 100 mails (p99 ~10 ms instead of ~106 ms, see the performance budget). TLS and auth come from the URL
 * (smtps:// or STARTTLS when offered; user:pass@).
 */
export function createSmtpChannel(opts: SmtpChannelOptions): SmtpChannel {
  const conn = smtpOptionsFromUrl(opts.url);
  const transport = nodemailer.createTransport({
    ...conn,
    getSocket: noDelaySocket(conn, opts.timeoutMs),
    pool: true,
    maxConnections: 5,
    maxMessages: Number.POSITIVE_INFINITY,
    connectionTimeout: opts.timeoutMs,
    greetingTimeout: opts.timeoutMs,
    socketTimeout: opts.timeoutMs,
  });
  // A pool error must never crash the process: the next send reconnects.
  transport.on('error', (err: Error) => opts.logger.warn({ err }, 'smtp pool error'));

  const sendOnce = async (mail: OutgoingMail): Promise<{ messageId: string }> => {
    // One span per SMTP hand-off, so the email is part of the incident's trace.
    return withSpan(
      'smtp.send',
      async () => {
        try {
          const info = (await transport.sendMail({
            from: opts.from,
            to: mail.to,
            subject: mail.subject,
            html: mail.html,
            text: mail.text,
            headers: mail.headers,
            ...(mail.messageId ? { messageId: mail.messageId } : {}),
          })) as { messageId?: string };
          return { messageId: info.messageId ?? '' };
        } catch (err) {
          throw typedSmtpError(err);
        }
      },
      { kind: SpanKind.CLIENT, attributes: { 'messaging.system': 'smtp', 'smtp.recipients': mail.to.length } },
    );
  };

  const breaker = createBreaker('smtp', sendOnce, {
    service: 'notifier',
    bus: opts.bus,
    registry: opts.registry,
    resetTimeoutMs: opts.breakerResetMs,
    logger: opts.logger,
  });

  return {
    breaker,
    send: (mail) =>
      retry(() => breaker.fire(mail), {
        max: opts.retries ?? 2,
        base: 200,
        cap: 1_000,
        // An open breaker means SMTP is known to be down: go to the fallback now.
        shouldRetry: (err) => err instanceof TransientError && (err as TransientError).code !== ErrorCode.BREAKER_OPEN,
        onRetry: (err, attempt, delayMs) => opts.logger.warn({ err, attempt, delayMs }, 'smtp send failed, retrying'),
      }),
    close: () => {
      breaker.shutdown();
      transport.close();
    },
  };
}
