import type { Clock, Logger, TimerHandle } from '@vigil/shared';
import type { WarmLedger } from './outage-ledger.js';
import type { Publisher } from './outage-reporter.js';
import { describeProviderFailure } from './providers/provider-errors.js';
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
  /**
   * Whether the last cycle failed, shared by replicas and kept across restarts: the first good cycle after a
   * failing one reports `recovered: true` even when another instance (or this one before a restart) saw the
   * failure, and the good cycles of the other instances do not report it again.
   */
  ledger?: WarmLedger;
}

export interface Warmer {
  /** One cycle now; resolves with its results. */
  runOnce(): Promise<WarmResult[]>;
  start(): void;
  stop(): void;
}

/** Fetches every configured secret on an interval so outages are seen (and alerted) before jobs need them. */
export function createWarmer(opts: WarmerOptions): Warmer {
  /** This instance's last cycle failed (the judge of `recovered` without a ledger). */
  let failedHere = false;
  /** A failed cycle the ledger did not record (NATS did not answer). */
  let unrecordedFailure = false;
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
    opts.cache.setConfigured(names);
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
    const failing = results.some((r) => !r.ok);
    const recovered = results.length > 0 && !failing && (await recoveryIsOurs());
    if (results.length > 0 && failing) await recordFailing();
    const event = warmOutcome(
      results,
      {
        recovered,
        at: new Date(started).toISOString(),
        provider: opts.provider,
        durationMs: performance.now() - t0,
      },
      (n) => cached.has(n),
    );
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

  /**
   * Whether this good cycle reports the recovery: with the ledger, only when this instance ended the failing state
   * its own or another instance's cycle recorded (one `recovered: true` across replicas and restarts); without it,
   * or when NATS does not answer, when this instance's last cycle failed.
   */
  const recoveryIsOurs = async (): Promise<boolean> => {
    const ours = failedHere;
    failedHere = false;
    if (!opts.ledger) return ours;
    try {
      // A failure this instance could not record is still its own to report.
      return (await opts.ledger.endWarmFailing()) || unrecordedFailure;
    } catch (err) {
      opts.log.warn({ err }, 'warm cycle state not read from NATS KV; recovery judged by this instance alone');
      return ours;
    } finally {
      unrecordedFailure = false;
    }
  };

  const recordFailing = async (): Promise<void> => {
    failedHere = true;
    if (!opts.ledger) return;
    try {
      await opts.ledger.markWarmFailing();
    } catch (err) {
      unrecordedFailure = true;
      opts.log.warn({ err }, 'warm cycle state not recorded in NATS KV');
    }
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
  const f = describeProviderFailure(err);
  return {
    name,
    ok: false,
    ...(f.refused ? { refused: true } : {}),
    errorType: f.type,
    // A secret that does not exist is not served stale: say what happens to it.
    error: f.notFound ? `${f.message}: not served (a cached value is dropped), secrets.get answers 404` : f.message,
    errorClass: f.class === 'permanent' ? 'permanent' : 'transient',
    reason: f.reason,
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
