/**
 * How long one AWS provider call may take (SECRETS_PROVIDER_TIMEOUT per attempt), and how its timeouts read. A
 * Secrets Manager that hangs must fail like one that errs, or every lookup and warm cycle hangs with it, silently:
 * the SDK's per-attempt timeout, a hard abort over all attempts, and the provider breaker's own call timeout
 * (provider-breaker.ts) bound it, in that order.
 */

/** Time for the SDK's retry backoff and connection set-up between and around attempts. */
const RETRY_MARGIN_MS = 1_000;

/** The hard bound of one provider call: every attempt may use its full timeout, plus the backoff between them. */
export function awsCallBoundMs(timeoutMs: number, maxAttempts: number): number {
  return timeoutMs * Math.max(1, maxAttempts) + RETRY_MARGIN_MS;
}

/**
 * What a timed-out call says, without the secret's name (the same cause fails every secret: one text, one alert
 * line). Names the setting so whoever reads the alert knows what bound was passed.
 */
export function awsTimeoutReason(timeoutMs: number, maxAttempts: number): string {
  const attempts = maxAttempts === 1 ? '1 attempt' : `${maxAttempts} attempts`;
  return `AWS Secrets Manager did not answer within SECRETS_PROVIDER_TIMEOUT (${timeoutMs} ms per attempt, ${attempts})`;
}

/**
 * The SDK gave up waiting: the per-attempt requestTimeout (node-http-handler's TimeoutError, code ETIMEDOUT, after
 * the last attempt) or the hard bound's abort (AbortError: the provider passes the only abort signal). Connection
 * and socket timeouts keep the SDK's own words (they say which of the two failed).
 */
export function isAwsTimeout(err: unknown): boolean {
  const e = err as { name?: unknown; message?: unknown } | undefined;
  if (e?.name === 'AbortError') return true;
  return e?.name === 'TimeoutError' && typeof e.message === 'string' && e.message.includes('requestTimeout');
}
