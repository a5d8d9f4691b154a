export interface WaitForOptions {
  timeout?: number;
  interval?: number;
  message?: string;
}

/**
 * Polls `fn` until it returns a truthy value (or stops throwing) and returns that value.
 * Tests wait on outcomes, never on fixed sleeps.
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  timeoutOrOpts: number | WaitForOptions = {},
): Promise<NonNullable<T>> {
  const opts = typeof timeoutOrOpts === 'number' ? { timeout: timeoutOrOpts } : timeoutOrOpts;
  const timeout = opts.timeout ?? 10_000;
  const interval = opts.interval ?? 20;
  const deadline = Date.now() + timeout;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value as NonNullable<T>;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`waitFor timed out after ${timeout}ms${opts.message ? ` (${opts.message})` : ''}${why}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}
