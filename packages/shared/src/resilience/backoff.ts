export interface BackoffOptions {
  /** Delay of the first retry before jitter, ms. */
  base: number;
  /** Upper bound of any delay, ms. */
  cap: number;
  /** 'full' (default): uniform in [0, exponential) so retrying clients spread out; 'none': exactly exponential. */
  jitter?: 'full' | 'none';
  random?: () => number;
}

/** Delay before retry number `attempt` (1 = first retry): min(cap, base * 2^(attempt-1)), then jitter. */
export function backoffDelay(
  attempt: number,
  { base, cap, jitter = 'full', random = Math.random }: BackoffOptions,
): number {
  const exp = Math.min(cap, base * 2 ** Math.max(0, attempt - 1));
  return jitter === 'full' ? Math.floor(random() * exp) : exp;
}
