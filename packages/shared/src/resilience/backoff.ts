export interface BackoffOptions {
  /** Delay of the first retry before jitter, ms. */
  base: number;
  /** Upper bound of any delay, ms. */
  cap: number;
  /**
   * 'full' (default): uniform in [0, exponential), whole ms, so retrying clients spread out;
   * 'full-inclusive': uniform in [0, exponential], rounded to the nearest ms (the top itself can be drawn);
   * 'none': exactly exponential.
   */
  jitter?: 'full' | 'full-inclusive' | 'none';
  random?: () => number;
}

/** Delay before retry number `attempt` (1 = first retry): min(cap, base * 2^(attempt-1)), then jitter. */
export function backoffDelay(
  attempt: number,
  { base, cap, jitter = 'full', random = Math.random }: BackoffOptions,
): number {
  const exp = Math.min(cap, base * 2 ** Math.max(0, attempt - 1));
  if (jitter === 'full') return Math.floor(random() * exp);
  return jitter === 'full-inclusive' ? Math.round(random() * exp) : exp;
}
