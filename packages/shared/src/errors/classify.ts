import { scrubSecrets } from '../log/secret-values.js';
import { ErrorCode } from './codes.js';
import { type ErrorClass, PermanentError, TransientError, VigilError } from './vigil-error.js';

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EOPENBREAKER',
  'ETIMEOUT',
  'ESOCKET',
  'ECONNECTION',
  'CONNECTION_CLOSED',
  'TIMEOUT',
  '503',
]);

const TRANSIENT_NAMES = new Set(['AbortError', 'TimeoutError', 'ConnectTimeoutError', 'HeadersTimeoutError']);

/**
 * ioredis failures that mean "Redis cannot be reached right now", known by name and message (shared does not import
 * ioredis for this: any client's errors of the same shape count). Each maps to the short reason a caller is told.
 * ioredis rejects a command with these, never with the socket's ECONNREFUSED/ECONNRESET (those go to its 'error'
 * event), so without them a Redis outage read as "unexpected": a bug, HTTP 500.
 */
const REDIS_FAILURE_BY_NAME: Record<string, string> = {
  // The command waited through `maxRetriesPerRequest` reconnection attempts without a connection.
  MaxRetriesPerRequestError: 'no connection (the command gave up after its reconnection attempts)',
};
const REDIS_FAILURE_BY_MESSAGE: Record<string, string> = {
  'Connection is closed.': 'connection closed',
  "Stream isn't writeable and enableOfflineQueue options is false": 'not connected',
  "Cluster isn't ready and enableOfflineQueue options is false": 'cluster not ready',
  'None of startup nodes is available': 'no cluster node reachable',
  'Cluster is disconnected.': 'cluster disconnected',
  'Command aborted due to connection close': 'connection closed',
};
/** Server replies that say "not now" (loading its data, no master, a cluster reconfiguring), not "never". */
const REDIS_NOT_READY_REPLY = /^(LOADING|MASTERDOWN|TRYAGAIN|CLUSTERDOWN)\b/;

function field(err: unknown, key: string): unknown {
  return typeof err === 'object' && err !== null ? (err as Record<string, unknown>)[key] : undefined;
}

/** The string `code` an error carries: ours (VIGIL_E_…), Node's (ECONNREFUSED…), nats.js's ('503'). */
export function errorCodeOf(err: unknown): string | undefined {
  const c = field(err, 'code');
  return typeof c === 'string' ? c : undefined;
}

/** The HTTP status an error carries, from fetch/undici/AWS SDK/our own errors. */
export function statusOf(err: unknown): number | undefined {
  const direct = field(err, 'status') ?? field(err, 'statusCode');
  if (typeof direct === 'number') return direct;
  const meta = field(err, '$metadata');
  const sdk = meta ? field(meta, 'httpStatusCode') : undefined;
  return typeof sdk === 'number' ? sdk : undefined;
}

/**
 * Why Redis is unavailable, when `err` (or its cause) is a Redis client's "cannot reach Redis now" failure: a short
 * reason naming no address (it may go into an HTTP answer), else undefined. Such an error classifies as transient.
 */
export function redisUnavailableReason(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && depth < 5; e = field(e, 'cause'), depth++) {
    const name = field(e, 'name');
    if (typeof name === 'string' && Object.hasOwn(REDIS_FAILURE_BY_NAME, name)) return REDIS_FAILURE_BY_NAME[name];
    const message = field(e, 'message');
    if (typeof message !== 'string') continue;
    if (Object.hasOwn(REDIS_FAILURE_BY_MESSAGE, message)) return REDIS_FAILURE_BY_MESSAGE[message];
    if (name === 'ReplyError' && REDIS_NOT_READY_REPLY.test(message)) return message.split(' ')[0];
  }
  return undefined;
}

/** 408, 425 (Too Early), 429 and 5xx may pass on their own; every other error status will repeat. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

function classOfStatus(status: number): ErrorClass | undefined {
  if (isTransientStatus(status)) return 'transient';
  if (status >= 400) return 'permanent';
  return undefined;
}

/**
 * Decides an error's fate once, for every caller: validation and permanent errors are never retried,
 * transient ones are, unexpected ones are retried a bounded number of times and then reported.
 */
export function classify(err: unknown): ErrorClass {
  if (err instanceof VigilError) return err.errorClass;
  const name = field(err, 'name');
  if (name === 'ZodError') return 'validation';
  const code = field(err, 'code');
  if (typeof code === 'string' && (TRANSIENT_CODES.has(code) || code.startsWith('UND_ERR'))) return 'transient';
  if (typeof name === 'string' && TRANSIENT_NAMES.has(name)) return 'transient';
  if (redisUnavailableReason(err) !== undefined) return 'transient';
  const status = statusOf(err);
  if (status !== undefined) return classOfStatus(status) ?? 'unexpected';
  if (field(err, '$retryable')) return 'transient';
  const cause = field(err, 'cause');
  if (cause && cause !== err) {
    const inner = classify(cause);
    if (inner !== 'unexpected') return inner;
  }
  return 'unexpected';
}

/** Transient and unexpected errors are worth another try; validation and permanent ones are not. */
export function isRetryable(err: unknown): boolean {
  const c = classify(err);
  return c === 'transient' || c === 'unexpected';
}

/** Builds the right typed error for an HTTP status (e.g. from an outbound call). */
export function httpStatusError(
  status: number,
  message: string,
  retryAfterMs?: number,
): TransientError | PermanentError {
  const details = { status };
  if (classOfStatus(status) === 'transient') {
    return Object.assign(new TransientError(message, { code: ErrorCode.HTTP_STATUS, details, retryAfterMs }), {
      status,
    });
  }
  return Object.assign(new PermanentError(message, { code: ErrorCode.HTTP_STATUS, details }), { status });
}

/** Parses a Retry-After header (seconds or HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export interface ErrorInfo {
  type: string;
  message: string;
  stack?: string;
  class: ErrorClass;
  code?: string;
}

/**
 * The contract's `error` object for events: type, message, stack, class. Registered secret values and URL
 * passwords are scrubbed from message and stack (as from log lines): this object travels in events, run
 * records, e-mails and chat messages, which the logger's scrubbing never sees.
 */
export function toErrorInfo(err: unknown): ErrorInfo {
  if (err instanceof Error) {
    const code = field(err, 'code');
    return {
      type: err.name && err.name !== 'Error' ? err.name : typeof code === 'string' ? code : 'Error',
      message: scrubSecrets(err.message),
      stack: err.stack === undefined ? undefined : scrubSecrets(err.stack),
      class: classify(err),
      ...(typeof code === 'string' ? { code } : {}),
    };
  }
  return { type: typeof err, message: scrubSecrets(String(err)), class: classify(err) };
}
