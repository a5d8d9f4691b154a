/** One warm cycle's result per secret. `errorType`/`error` name the provider failure, never a value. */
export interface WarmResult {
  name: string;
  ok: boolean;
  errorType?: string;
  error?: string;
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
        failed: Array<{ name: string; type: string; error: string }>;
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
 * `cachedFor(name)` tells whether a stale value still covers a failed name.
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
    .map((r) => ({ name: r.name, type: r.errorType ?? 'Error', error: r.error ?? 'unknown error' }));
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
