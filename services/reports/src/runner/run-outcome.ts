import { type EventErrorInfo, toErrorInfo as sharedErrorInfo } from '@vigil/shared';

type ErrorInfo = EventErrorInfo;
const toErrorInfo = (err: unknown): ErrorInfo => sharedErrorInfo(err) as ErrorInfo;
import type { HandlerResult } from '../handler-api.js';

export type TerminalStatus = 'succeeded' | 'partial' | 'failed';

export interface RunOutcome {
  status: TerminalStatus;
  stats?: { targets: number; succeeded: number; failed: number; skipped: number };
  failures?: { target: string; error: ErrorInfo }[];
  error?: ErrorInfo;
  details?: Record<string, unknown>;
}

function withoutStack(info: ErrorInfo): ErrorInfo {
  const { stack: _stack, ...rest } = info;
  return rest;
}

/**
 * Turns a handler's result into the run's terminal outcome. Per-target outcomes decide the status
 * when the handler does not: all ok -> succeeded, some -> partial, none -> failed.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: handlers may return nothing
export function outcomeOf(result: HandlerResult | undefined | void, plannedTargets: string[]): RunOutcome {
  // The common case of a job without targets whose handler returned nothing: no arrays, no sets.
  if (!result && plannedTargets.length === 0) return { status: 'succeeded' };
  const r = result ?? {};
  const outcomes = r.targets ?? [];
  const failures = outcomes
    .filter((t) => !t.ok)
    .map((t) => ({ target: t.target, error: withoutStack(toErrorInfo(t.error ?? 'failed')) }));
  const succeeded = outcomes.filter((t) => t.ok).length;
  const seen = new Set(outcomes.map((t) => t.target));
  const skipped = plannedTargets.filter((t) => !seen.has(t)).length;
  let status: TerminalStatus;
  if (r.status) status = r.status;
  else if (outcomes.length === 0) status = 'succeeded';
  else if (failures.length === 0) status = 'succeeded';
  else if (succeeded > 0) status = 'partial';
  else status = 'failed';
  const out: RunOutcome = { status };
  if (outcomes.length > 0 || plannedTargets.length > 0) {
    out.stats = {
      targets: Math.max(outcomes.length + skipped, plannedTargets.length),
      succeeded,
      failed: failures.length,
      skipped,
    };
  }
  if (failures.length > 0) out.failures = failures;
  if (status === 'failed' && failures.length > 0) {
    const first = outcomes.find((t) => !t.ok);
    out.error = toErrorInfo(first?.error ?? 'all targets failed');
  }
  if (r.details) out.details = r.details;
  return out;
}

/** An outcome that says no more than its status (no stats, failures, error or details). */
export function isPlainOutcome(o: RunOutcome): boolean {
  return !o.stats && !o.failures && !o.error && !o.details;
}

/** The outcome of a run whose handler threw (after retries). */
export function failedOutcome(err: unknown, plannedTargets: string[]): RunOutcome {
  const error = toErrorInfo(err);
  const out: RunOutcome = { status: 'failed', error };
  if (plannedTargets.length > 0) {
    out.stats = { targets: plannedTargets.length, succeeded: 0, failed: plannedTargets.length, skipped: 0 };
    out.failures = plannedTargets.map((target) => ({ target, error: withoutStack(error) }));
  }
  return out;
}
