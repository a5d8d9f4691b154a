import { ErrorCode } from './codes.js';

export type ErrorClass = 'validation' | 'transient' | 'permanent' | 'unexpected';

export interface VigilErrorOptions {
  code?: string;
  details?: Record<string, unknown>;
  cause?: unknown;
  /**
   * How many times the work was tried, when the code that gave up counts its own attempts (a webhook's attempts
   * outlive the copies of its message JetStream counts, and a wait for an open breaker is no attempt): a dead
   * letter's `Vigil-Deliveries` then says this, not the last copy's delivery count.
   */
  attempts?: number;
}

/** Base of every error Vigil raises on purpose: a stable code and a class that decides its fate. */
export class VigilError extends Error {
  readonly code: string;
  readonly errorClass: ErrorClass;
  readonly details?: Record<string, unknown>;
  readonly attempts?: number;

  constructor(message: string, errorClass: ErrorClass, opts: VigilErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.errorClass = errorClass;
    this.code = opts.code ?? ErrorCode.UNEXPECTED;
    this.details = opts.details;
    if (opts.attempts !== undefined) this.attempts = opts.attempts;
  }
}

/** Bad input: fixing the input is the only cure, so it is never retried. */
export class ValidationError extends VigilError {
  constructor(message: string, opts: VigilErrorOptions = {}) {
    super(message, 'validation', { code: ErrorCode.VALIDATION, ...opts });
  }
}

/** A failure that may pass on its own (network, 5xx, timeouts): retried with backoff. */
export class TransientError extends VigilError {
  readonly retryAfterMs?: number;
  constructor(message: string, opts: VigilErrorOptions & { retryAfterMs?: number } = {}) {
    super(message, 'transient', { code: ErrorCode.TRANSIENT, ...opts });
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/**
 * Not a failure: the handler hands the message back to be taken up after `retryAfterMs` (its destination is busy,
 * or its breaker is open). The consumer naks it with that delay like a transient error, but logs it at debug and
 * counts it as `deferred`: a backlog waiting its turn must not read as a stream of failures.
 */
export class DeferredError extends TransientError {
  constructor(message: string, opts: VigilErrorOptions & { retryAfterMs: number }) {
    super(message, opts);
  }
}

/**
 * A transient failure that its own retry policy has given up on (a webhook after its last attempt): dead-lettered
 * at once, yet still `transient`, because the cause may pass and a replay may well succeed; calling it permanent
 * would tell an operator not to bother.
 */
export class RetriesExhaustedError extends TransientError {
  constructor(message: string, opts: VigilErrorOptions = {}) {
    super(message, { code: ErrorCode.RETRIES_EXHAUSTED, ...opts });
  }
}

/** A failure that will repeat identically (4xx, not found): never retried. */
export class PermanentError extends VigilError {
  constructor(message: string, opts: VigilErrorOptions = {}) {
    super(message, 'permanent', { code: ErrorCode.PERMANENT, ...opts });
  }
}
