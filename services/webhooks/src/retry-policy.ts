import { backoffDelay, isTransientStatus } from '@vigil/shared';

/** What one HTTP attempt produced, reduced to what the policy needs. */
export type AttemptOutcome =
  | { kind: 'response'; status: number; retryAfterMs?: number }
  | { kind: 'network'; message: string; code?: string }
  /** The SSRF guard refused the destination's address: nothing was sent, and nothing will be. */
  | { kind: 'refused'; message: string };

export interface RetryPolicy {
  /** Retries after the first attempt: 3 means at most 4 attempts. */
  maxRetries: number;
  baseMs: number;
  capMs: number;
  /** Upper bound on a receiver's Retry-After, so a hostile value cannot park a delivery for a year. */
  maxRetryAfterMs: number;
  random?: () => number;
}

export type Decision =
  | { action: 'delivered' }
  | { action: 'retry'; delayMs: number; reason: string }
  | { action: 'dead'; reason: 'permanent' | 'exhausted'; message: string };

/**
 * Whether a dead webhook died of used-up retries (more than one attempt, none refused by the receiver) rather than
 * a refusal: what a death recorded before a crash is re-announced as.
 */
export function diedOfRetries(attempts: number, lastStatusCode: number | undefined): boolean {
  return attempts > 1 && (lastStatusCode === undefined || isTransientStatus(lastStatusCode));
}

/** Exponential backoff with full jitter: uniform in [0, min(cap, base·2^(attempt-1))]. */
export function backoffMs(attempt: number, policy: RetryPolicy): number {
  return backoffDelay(attempt, {
    base: policy.baseMs,
    cap: policy.capMs,
    jitter: 'full-inclusive',
    random: policy.random,
  });
}

function describe(outcome: AttemptOutcome): string {
  if (outcome.kind === 'refused') return outcome.message;
  if (outcome.kind === 'network') {
    // undici's messages often carry the code already ("connect ECONNREFUSED 10.0.0.1:443"): say it once
    const named = !outcome.code || outcome.message.includes(outcome.code);
    return named ? outcome.message : `${outcome.code}: ${outcome.message}`;
  }
  if (outcome.status >= 300 && outcome.status < 400) return `HTTP ${outcome.status} (redirects are not followed)`;
  return `HTTP ${outcome.status}`;
}

/**
 * Decides the fate of a delivery after its `attempt`-th HTTP attempt (1-based). Retry-After wins over the
 * computed backoff when the receiver gives one, because it knows when it will be ready.
 */
export function decide(outcome: AttemptOutcome, attempt: number, policy: RetryPolicy): Decision {
  if (outcome.kind === 'response' && outcome.status >= 200 && outcome.status < 300) return { action: 'delivered' };
  const message = describe(outcome);
  const retryable = outcome.kind === 'network' || (outcome.kind === 'response' && isTransientStatus(outcome.status));
  if (!retryable) return { action: 'dead', reason: 'permanent', message };
  if (attempt > policy.maxRetries) return { action: 'dead', reason: 'exhausted', message };
  const retryAfter = outcome.kind === 'response' ? outcome.retryAfterMs : undefined;
  const delayMs = retryAfter !== undefined ? Math.min(retryAfter, policy.maxRetryAfterMs) : backoffMs(attempt, policy);
  return { action: 'retry', delayMs, reason: message };
}
