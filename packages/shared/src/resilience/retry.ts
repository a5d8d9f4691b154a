import { isRetryable } from '../errors/index.js';
import { abortReason, type Clock, systemClock } from '../time/index.js';
import { backoffDelay } from './backoff.js';

export interface RetryOptions {
  /** Retries after the first attempt: max 3 => up to 4 calls. */
  max: number;
  /** Default 100 ms. */
  base?: number;
  /** Default 30 s. */
  cap?: number;
  jitter?: 'full' | 'none';
  /** How long the other side asked us to wait (Retry-After). Default: err.retryAfterMs. Wins over backoff. */
  retryAfter?: (err: unknown) => number | undefined;
  /** Default: isRetryable (transient and unexpected errors). */
  shouldRetry?: (err: unknown) => boolean;
  /** Called before each wait; `attempt` is the retry about to happen (1..max). */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  signal?: AbortSignal;
  /** Default: clock.sleep. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  clock?: Clock;
  random?: () => number;
}

function defaultRetryAfter(err: unknown): number | undefined {
  const v = typeof err === 'object' && err !== null ? (err as { retryAfterMs?: unknown }).retryAfterMs : undefined;
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/**
 * Calls fn until it succeeds, a non-retryable error is thrown, or `max` retries are spent; then the last
 * error is rethrown unchanged (so callers can still classify it). `fn` receives the call number (1-based).
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const { max, base = 100, cap = 30_000, jitter = 'full', signal } = opts;
  const shouldRetry = opts.shouldRetry ?? isRetryable;
  const retryAfter = opts.retryAfter ?? defaultRetryAfter;
  const clock = opts.clock ?? systemClock;
  const sleep = opts.sleep ?? ((ms: number, s?: AbortSignal) => clock.sleep(ms, s));
  for (let call = 1; ; call++) {
    if (signal?.aborted) throw abortReason(signal);
    try {
      return await fn(call);
    } catch (err) {
      if (call > max || !shouldRetry(err) || signal?.aborted) throw err;
      const delay = retryAfter(err) ?? backoffDelay(call, { base, cap, jitter, random: opts.random });
      opts.onRetry?.(err, call, delay);
      await sleep(delay, signal);
    }
  }
}
