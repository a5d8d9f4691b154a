import type { ErrorClass } from '@vigil/shared';

/** One warm cycle's result per secret. `errorType`/`error` name the provider failure, never a value. */
export interface WarmResult {
  name: string;
  ok: boolean;
  errorType?: string;
  error?: string;
  /**
   * The provider breaker refused the call (VIGIL_E_BREAKER_OPEN): the provider was not asked. `errorType` is then
   * the provider error that opened the breaker, when known.
   */
  refused?: boolean;
  /** `permanent` when the provider says the secret does not exist; `transient` (the default) otherwise. */
  errorClass?: ErrorClass;
  /** What failed without the secret's name (`secrets file /x/secrets.json does not exist`): one line per cause. */
  reason?: string;
}

/** Causes named in a refresh-failed message, at most. */
const MAX_CAUSES = 3;

export interface WarmContext {
  /** A good cycle reports `recovered: true` (the warmer decides which one: see createWarmer). */
  recovered: boolean;
  at: string;
  provider: string;
  durationMs: number;
}

export type WarmEvent =
  | {
      subject: 'secrets.refresh-failed';
      data: {
        names: string[];
        /**
         * `refused`: not sent to the provider, its breaker was open after earlier provider errors. `class`:
         * `permanent` for a secret the provider does not have, else `transient`. `cached`: a stale value still
         * covers it (never for a secret that does not exist: it is evicted and answers 404).
         */
        failed: Array<{
          name: string;
          type: string;
          error: string;
          class: ErrorClass;
          cached: boolean;
          refused?: true;
        }>;
        total: number;
        refreshed: number;
        severity: 'CRITICAL' | 'WARNING';
        /** `class` is `permanent` only when every failure is (secrets that do not exist), else `transient`. */
        error: { type: string; message: string; class: ErrorClass };
        cached: boolean;
        at: string;
        provider: string;
        durationMs: number;
      };
    }
  | {
      subject: 'secrets.refreshed';
      data: { names: string[]; total: number; recovered: boolean; at: string; provider: string; durationMs: number };
    };

/**
 * What a warm cycle announces (seed 001: alert when more than half the secrets fail):
 * - more than 50% failed -> refresh-failed CRITICAL with every failed name and its error;
 * - some failed          -> refresh-failed WARNING;
 * - none failed          -> refreshed, `recovered: true` when the previous cycle had failures.
 * `cachedFor(name)` tells whether a stale value still covers a failed name. Breaker refusals reach here only when no
 * call of the cycle succeeded (the warmer asks refused names again after a successful half-open probe): then the
 * provider is still failing and they count as failures, marked `refused`.
 */
export function warmOutcome(
  results: WarmResult[],
  ctx: WarmContext,
  cachedFor: (name: string) => boolean = () => false,
): WarmEvent | undefined {
  if (results.length === 0) return undefined;
  const total = results.length;
  const failures = results.filter((r) => !r.ok);
  const failed = failures.map((r) => ({
    name: r.name,
    type: r.errorType ?? 'Error',
    error: r.error ?? 'unknown error',
    class: r.errorClass ?? ('transient' as const),
    cached: cachedFor(r.name),
    ...(r.refused ? { refused: true as const } : {}),
  }));
  const common = { total, at: ctx.at, provider: ctx.provider, durationMs: Math.round(ctx.durationMs) };
  if (failed.length > 0) {
    const severity = failed.length / total > 0.5 ? 'CRITICAL' : 'WARNING';
    const types = [...new Set(failed.map((f) => f.type))];
    const list = failed.map((f) => `${f.name} (${f.type})`).join(', ');
    // What failed, in the provider's words (the file's path, the SDK's message): once per distinct cause.
    const causes = [
      ...new Set(failures.map((r) => `${r.errorType ?? 'Error'}: ${r.reason ?? r.error ?? 'unknown error'}`)),
    ];
    const why =
      causes.slice(0, MAX_CAUSES).join('; ') +
      (causes.length > MAX_CAUSES ? ` (+${causes.length - MAX_CAUSES} more)` : '');
    return {
      subject: 'secrets.refresh-failed',
      data: {
        names: failed.map((f) => f.name),
        failed,
        refreshed: total - failed.length,
        severity,
        error: {
          type: types.length === 1 ? types[0] : 'MultipleErrors',
          message: `${failed.length} of ${total} secrets failed to refresh: ${list} — ${why}`,
          class: failed.every((f) => f.class === 'permanent') ? 'permanent' : 'transient',
        },
        cached: failed.every((f) => f.cached),
        ...common,
      },
    };
  }
  return {
    subject: 'secrets.refreshed',
    data: { names: results.map((r) => r.name), recovered: ctx.recovered, ...common },
  };
}
