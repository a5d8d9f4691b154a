import { ErrorCode } from '../errors/codes.js';
import { errorMessage } from '../errors/error-message.js';
import { TransientError } from '../errors/vigil-error.js';

/** JetStream API error codes we act on (nats-server `err_code`). */
export const JsErrCode = {
  STREAM_NOT_FOUND: 10059,
  STREAM_NAME_IN_USE: 10058,
  CONSUMER_NOT_FOUND: 10014,
  CONSUMER_NAME_EXISTS: 10013,
  CONSUMER_ALREADY_EXISTS: 10105,
  CONSUMER_EXISTS_2_9: 10148,
  NO_MESSAGE_FOUND: 10037,
  /** Deleting a stream sequence that is not there (any more) inside the stream: 400 "sequence N not found". */
  SEQUENCE_NOT_FOUND: 10043,
  /** A failed message delete; "no message found" when the sequence is below the stream's first one. */
  MSG_DELETE_FAILED: 10057,
} as const;

function field(err: unknown, key: string): unknown {
  return typeof err === 'object' && err !== null ? (err as Record<string, unknown>)[key] : undefined;
}

/** The JetStream `err_code` of a NatsError, if it carries one. */
export function jsErrCode(err: unknown): number | undefined {
  const api = field(err, 'api_error');
  const code = api ? field(api, 'err_code') : undefined;
  return typeof code === 'number' ? code : undefined;
}

/** A 404-like JetStream answer: stream, consumer or message not there (also a delete of a sequence already gone). */
export function isNotFound(err: unknown): boolean {
  const c = jsErrCode(err);
  if (
    c === JsErrCode.STREAM_NOT_FOUND ||
    c === JsErrCode.CONSUMER_NOT_FOUND ||
    c === JsErrCode.NO_MESSAGE_FOUND ||
    c === JsErrCode.SEQUENCE_NOT_FOUND
  ) {
    return true;
  }
  if (c === JsErrCode.MSG_DELETE_FAILED && /no message found/i.test(String(field(err, 'message') ?? ''))) return true;
  const api = field(err, 'api_error');
  return (api ? field(api, 'code') : field(err, 'code')) === 404 || field(err, 'code') === '404';
}

/** "Already exists/in use" when two replicas create the same thing at once. */
export function isAlreadyInUse(err: unknown): boolean {
  const c = jsErrCode(err);
  if (
    c === JsErrCode.STREAM_NAME_IN_USE ||
    c === JsErrCode.CONSUMER_NAME_EXISTS ||
    c === JsErrCode.CONSUMER_ALREADY_EXISTS ||
    c === JsErrCode.CONSUMER_EXISTS_2_9
  ) {
    return true;
  }
  const msg = err instanceof Error ? err.message : '';
  return /already in use|already exists/i.test(msg);
}

const UNAVAILABLE_CODES = new Set(['TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_DRAINING', 'DISCONNECT', '503']);

/** Whether a NATS failure means "the broker is not reachable / not answering" (worth retrying). */
export function isNatsUnavailable(err: unknown): boolean {
  const code = field(err, 'code');
  return typeof code === 'string' && UNAVAILABLE_CODES.has(code);
}

/** Wraps a NATS failure of a durable operation into the loud TransientError callers must handle. */
export function natsUnavailable(what: string, err: unknown): TransientError {
  const msg = errorMessage(err);
  return new TransientError(`${what}: NATS unavailable (${msg})`, {
    code: ErrorCode.NATS_UNAVAILABLE,
    cause: err,
    details: { natsCode: field(err, 'code') },
  });
}
