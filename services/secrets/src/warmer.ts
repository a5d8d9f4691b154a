import type { Clock, Logger, TimerHandle } from '@vigil/shared';
import { providerErrorType } from './providers/provider-errors.js';
import type { Publisher } from './outage-reporter.js';
import type { SecretCache } from './secret-cache.js';
import { type WarmResult, warmOutcome } from './warm-outcome.js';

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

  const cycle = async (): Promise<WarmResult[]> => {
    const names = await opts.names();
    const started = opts.clock.now();
    const t0 = performance.now();
    const results = await mapLimited(names, opts.concurrency ?? 4, async (name): Promise<WarmResult> => {
      try {
        await opts.cache.warm(name);
        return { name, ok: true };
      } catch (err) {
        return {
          name,
          ok: false,
          errorType: providerErrorType(err),
          error: err instanceof Error ? err.message : String(err),
        };
      }
    });
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
          `secrets warming partial: ${results.length - failed}/${results.length} refreshed`,
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
