import {
  ErrorCode,
  type EventErrorInfo,
  PermanentError,
  toErrorInfo as sharedErrorInfo,
  ValidationError,
} from '@vigil/shared';
import type { HandlerResult } from '../handler-api.js';
import { handlerResultProblem } from './handler-result.js';

type ErrorInfo = EventErrorInfo;
const toErrorInfo = (err: unknown): ErrorInfo => sharedErrorInfo(err) as ErrorInfo;

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

/** A planned target the handler's per-target outcomes leave out: not covered, so it counts as failed. */
function notReported(target: string): ErrorInfo {
  return withoutStack(
    toErrorInfo(
      new PermanentError(`the handler reported no outcome for target ${target}`, {
        code: ErrorCode.TARGET_NOT_REPORTED,
        details: { target },
      }),
    ),
  );
}

/**
 * Turns a handler's result into the run's terminal outcome. Per-target outcomes decide the status
 * when the handler does not: all ok -> succeeded, some -> partial, none -> failed. A handler that reports
 * per-target outcomes must report every planned target: one it leaves out was silently skipped (seed 003's
 * missing company reports), so it is a failure of that target, and a backup run covers it. A handler that
 * reports no per-target outcomes ran the job as a whole: its success covers every planned target.
 *
 * A result that is not a valid outcome (a `module:` handler is plain JavaScript: `{ status: 'ok' }`,
 * `{ details: 'x' }`...) fails the run with class `validation` and a message naming the mistake, instead of
 * becoming an event outside the contract (the runner publishes without a schema parse). Not retried: the same
 * code returns the same shape.
 */
export function outcomeOf(result: unknown, plannedTargets: string[]): RunOutcome {
  // The common case of a job without targets whose handler returned nothing: no arrays, no sets, no checks.
  const nothing = result === undefined || result === null;
  if (nothing && plannedTargets.length === 0) return { status: 'succeeded' };
  if (!nothing) {
    const problem = handlerResultProblem(result);
    if (problem !== undefined) return failedOutcome(invalidResult(problem), plannedTargets);
  }
  const r = (result ?? {}) as HandlerResult;
  if (!r.targets) {
    const status = r.status ?? 'succeeded';
    const out: RunOutcome = { status };
    if (plannedTargets.length > 0) {
      const n = plannedTargets.length;
      out.stats =
        status === 'succeeded'
          ? { targets: n, succeeded: n, failed: 0, skipped: 0 }
          : { targets: n, succeeded: 0, failed: 0, skipped: n };
    }
    if (r.details) out.details = r.details;
    // An alert must say something: the handler said "failed" without throwing or naming a target.
    if (status === 'failed') out.error = withoutStack(toErrorInfo(reportedFailure()));
    return out;
  }
  const outcomes = r.targets;
  const failures = outcomes
    .filter((t) => !t.ok)
    .map((t) => ({ target: t.target, error: withoutStack(toErrorInfo(t.error ?? 'failed')) }));
  const succeeded = outcomes.filter((t) => t.ok).length;
  const seen = new Set(outcomes.map((t) => t.target));
  for (const t of plannedTargets) if (!seen.has(t)) failures.push({ target: t, error: notReported(t) });
  let status: TerminalStatus;
  if (failures.length === 0) status = r.status ?? 'succeeded';
  else if (r.status && r.status !== 'succeeded') status = r.status;
  else status = succeeded > 0 ? 'partial' : 'failed';
  const out: RunOutcome = { status };
  if (outcomes.length > 0 || plannedTargets.length > 0) {
    out.stats = {
      targets: Math.max(succeeded + failures.length, plannedTargets.length),
      succeeded,
      failed: failures.length,
      skipped: 0,
    };
  }
  if (failures.length > 0) out.failures = failures;
  if (status === 'failed' && failures.length > 0) {
    const first = outcomes.find((t) => !t.ok);
    out.error = first ? toErrorInfo(first.error ?? 'all targets failed') : failures[0].error;
  }
  if (r.details) out.details = r.details;
  return out;
}

function reportedFailure(): PermanentError {
  return new PermanentError('the handler returned status "failed" without an error (throw one to say why)', {
    code: ErrorCode.HANDLER_FAILED,
  });
}

/** A handler's result that is not a valid outcome, as the run's error. */
function invalidResult(problem: string): ValidationError {
  return new ValidationError(problem, { code: ErrorCode.HANDLER_RESULT_INVALID });
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
