import { ErrorCode, errorMessage, PermanentError, TransientError } from '@vigil/shared';
import nodemailer from 'nodemailer';
import { noDelaySocket, smtpOptionsFromUrl } from './smtp-options.js';

// The SMTP side of the channel (smtp-channel.ts): the pooled transport, how long a call may take, how its errors
// are typed.

/**
 * The most one SMTP call (a send, or the breaker's probe) may take. nodemailer's timeouts are per phase
 * (connect, greeting, each idle wait on the socket), so a slow but working server can need more than one
 * SMTP_TIMEOUT in total; twice that is where a call counts as stuck.
 */
export function smtpCallBoundMs(timeoutMs: number): number {
  return 2 * timeoutMs;
}

/** The longest `send` can take: every attempt at its bound plus the pauses between retries (≤ 1 s each). */
export function smtpSendBudgetMs(timeoutMs: number, retries = 2): number {
  return (retries + 1) * smtpCallBoundMs(timeoutMs) + retries * 1_000;
}

export function responseCode(err: unknown): number | undefined {
  const v = typeof err === 'object' && err !== null ? (err as { responseCode?: unknown }).responseCode : undefined;
  return typeof v === 'number' ? v : undefined;
}

/** SMTP 5xx replies repeat on retry (bad recipient, policy); everything else (network, 4xx) may pass. */
/**
 * nodemailer's message, each part once. It appends the server's reply to a message that may quote it already:
 * `Invalid greeting. response=421 service not available: 421 service not available` → `Invalid greeting: 421 service
 * not available`.
 */
export function smtpErrorMessage(err: unknown): string {
  const message = errorMessage(err);
  const reply = typeof err === 'object' && err !== null ? (err as { response?: unknown }).response : undefined;
  if (typeof reply !== 'string' || !reply) return message;
  const r = reply.trim();
  const suffix = `: ${r}`;
  if (!message.endsWith(suffix)) return message;
  const head = message.slice(0, -suffix.length);
  if (!head.includes(r)) return message;
  // "<what>. response=<reply>" (or any head quoting it): the head without the quote, then the reply once
  const bare = head
    .replace(`response=${r}`, '')
    .replace(r, '')
    .replace(/[\s.,:;=]+$/, '');
  return `${bare || 'SMTP error'}: ${r}`;
}

export function typedSmtpError(err: unknown, what: 'send' | 'probe'): Error {
  const code = responseCode(err);
  const clean = smtpErrorMessage(err);
  // the cause says it once too: logs (err.cause) and the fallback's reason (failureReason) read it
  if (err instanceof Error && err.message !== clean) err.message = clean;
  const message = `SMTP ${what} failed: ${clean}`;
  if (code !== undefined && code >= 500) {
    return new PermanentError(message, { code: ErrorCode.SMTP_FAILED, cause: err, details: { responseCode: code } });
  }
  return new TransientError(message, { code: ErrorCode.SMTP_FAILED, cause: err, details: { responseCode: code } });
}

/** The pooled nodemailer transport the channel sends through (one per pool generation). */
export function createSmtpTransport(url: string, timeoutMs: number) {
  const conn = smtpOptionsFromUrl(url);
  return nodemailer.createTransport({
    ...conn,
    getSocket: noDelaySocket(conn, timeoutMs),
    pool: true,
    maxConnections: 5,
    maxMessages: Number.POSITIVE_INFINITY,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
}
