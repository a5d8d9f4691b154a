import { ErrorCode, errorCodeOf } from '@vigil/shared';
import { providerErrorType } from './providers/provider-errors.js';

/**
 * A provider breaker refusal (VIGIL_E_BREAKER_OPEN), as thrown or wrapped by the cache (SECRET_UNAVAILABLE when
 * nothing is cached): the provider was not asked. `type` is the provider error that opened the breaker, so alerts
 * name (and group by) what the provider said, not the breaker.
 */
export function breakerRefusal(err: unknown): { type: string } | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 3; depth++) {
    if (errorCodeOf(e) === ErrorCode.BREAKER_OPEN) {
      const cause = (e as { cause?: unknown }).cause;
      return { type: cause === undefined ? ErrorCode.BREAKER_OPEN : providerErrorType(cause) };
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

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
}

export interface WarmContext {
  previousHadFailures: boolean;
  at: string;
  provider: string;
  durationMs: number;
}

export type WarmEvent =
  | {
      subject: 'secrets.refresh-failed';
      data: {
        names: string[];
        /** `refused`: not sent to the provider, its breaker was open after earlier provider errors. */
        failed: Array<{ name: string; type: string; error: string; refused?: true }>;
        total: number;
        refreshed: number;
        severity: 'CRITICAL' | 'WARNING';
        error: { type: string; message: string; class: 'transient' };
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
  const failed = results
    .filter((r) => !r.ok)
    .map((r) => ({
      name: r.name,
      type: r.errorType ?? 'Error',
      error: r.error ?? 'unknown error',
      ...(r.refused ? { refused: true as const } : {}),
    }));
  const common = { total, at: ctx.at, provider: ctx.provider, durationMs: Math.round(ctx.durationMs) };
  if (failed.length > 0) {
    const severity = failed.length / total > 0.5 ? 'CRITICAL' : 'WARNING';
    const types = [...new Set(failed.map((f) => f.type))];
    const list = failed.map((f) => `${f.name} (${f.type})`).join(', ');
    return {
      subject: 'secrets.refresh-failed',
      data: {
        names: failed.map((f) => f.name),
        failed,
        refreshed: total - failed.length,
        severity,
        error: {
          type: types.length === 1 ? types[0] : 'MultipleErrors',
          message: `${failed.length} of ${total} secrets failed to refresh: ${list}`,
          class: 'transient',
        },
        cached: failed.every((f) => cachedFor(f.name)),
        ...common,
      },
    };
  }
  return {
    subject: 'secrets.refreshed',
    data: { names: results.map((r) => r.name), recovered: ctx.previousHadFailures, ...common },
  };
}
