import type { Clock, Logger, TimerHandle } from '@vigil/shared';
import { providerErrorType } from './providers/provider-errors.js';
import type { Publisher } from './outage-reporter.js';
import type { SecretCache } from './secret-cache.js';
import { breakerRefusal, type WarmResult, warmOutcome } from './warm-outcome.js';

export interface WarmerOptions {
  cache: SecretCache;
  names: () => Promise<string[]>;
  intervalMs: number;
  clock: Clock;
  bus: Publisher;
  log: Logger;
  provider: string;
  /** Parallel provider calls per cycle. */
  concurrency?: number;
}

export interface Warmer {
  /** One cycle now; resolves with its results. */
  runOnce(): Promise<WarmResult[]>;
  start(): void;
  stop(): void;
}

/** Fetches every configured secret on an interval so outages are seen (and alerted) before jobs need them. */
export function createWarmer(opts: WarmerOptions): Warmer {
  let previousHadFailures = false;
  let timer: TimerHandle | undefined;
  let stopped = true;
  let running: Promise<WarmResult[]> | undefined;

  const warmOne = async (name: string): Promise<WarmResult> => {
    try {
      await opts.cache.warm(name);
      return { name, ok: true };
    } catch (err) {
      return failure(name, err);
    }
  };

  const cycle = async (): Promise<WarmResult[]> => {
    const names = await opts.names();
    const started = opts.clock.now();
    const t0 = performance.now();
    const concurrency = opts.concurrency ?? 4;
    let results = await mapLimited(names, concurrency, warmOne);
    // A half-open provider breaker lets one call through (the probe) and refuses the others while it runs. When
    // a call of this cycle succeeded, the breaker has closed: the refused names were never asked, so ask now.
    // Only when nothing succeeded (the provider is still down, or the probe failed) do refusals count as failures.
    const refused = results.filter((r) => r.refused).map((r) => r.name);
    if (refused.length > 0 && results.some((r) => r.ok)) {
      opts.log.info(
        { provider: opts.provider, refused: refused.length },
        `provider breaker refused ${refused.length} secret(s) while its probe ran; the probe succeeded — warming them again`,
      );
      const again = new Map((await mapLimited(refused, concurrency, warmOne)).map((r) => [r.name, r]));
      results = results.map((r) => again.get(r.name) ?? r);
    }
    const cached = new Set(opts.cache.names());
    const event = warmOutcome(
      results,
      {
        previousHadFailures,
        at: new Date(started).toISOString(),
        provider: opts.provider,
        durationMs: performance.now() - t0,
      },
      (n) => cached.has(n),
    );
    previousHadFailures = results.some((r) => !r.ok);
    if (event) {
      const failed = results.filter((r) => !r.ok).length;
      const line = { total: results.length, failed, provider: opts.provider };
      if (event.subject === 'secrets.refresh-failed') {
        opts.log[event.data.severity === 'CRITICAL' ? 'error' : 'warn'](
          { ...line, severity: event.data.severity, failedNames: event.data.names },
          failed === results.length
            ? `secrets warming failed: ${failed}/${results.length} failed to refresh`
            : `secrets warming partial: ${failed}/${results.length} failed to refresh, ${results.length - failed} refreshed`,
        );
      } else {
        opts.log.info(
          { ...line, recovered: event.data.recovered },
          `secrets warming completed: ${results.length} refreshed`,
        );
      }
      await opts.bus
        .publish(event.subject, event.data)
        .catch((err: unknown) => opts.log.warn({ err, subject: event.subject }, 'event not published'));
    }
    return results;
  };

  const runOnce = () => {
    if (!running) running = cycle().finally(() => (running = undefined));
    return running;
  };

  const schedule = () => {
    if (stopped) return;
    timer = opts.clock.setTimeout(() => {
      void runOnce()
        .catch((err: unknown) => opts.log.error({ err }, 'secrets warming cycle failed'))
        .finally(schedule);
    }, opts.intervalMs);
  };

  return {
    runOnce,
    start() {
      if (!stopped) return;
      stopped = false;
      schedule();
    },
    stop() {
      stopped = true;
      if (timer) opts.clock.clearTimeout(timer);
      timer = undefined;
    },
  };
}

/** A failed warm: the provider's error, or the breaker's refusal (named by the provider error that opened it). */
function failure(name: string, err: unknown): WarmResult {
  const refusal = breakerRefusal(err);
  if (refusal) {
    return {
      name,
      ok: false,
      refused: true,
      errorType: refusal.type,
      error: `not asked: the provider breaker is open after provider errors (last: ${refusal.type})`,
    };
  }
  return {
    name,
    ok: false,
    errorType: providerErrorType(err),
    error: err instanceof Error ? err.message : String(err),
  };
}

async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
