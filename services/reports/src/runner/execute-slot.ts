import { type Clock, ErrorCode, type JobDefinition, ValidationError } from '@vigil/shared';
import type { HandlerSecrets, JobHandler } from '../handler-api.js';
import { type ExecuteResult, executeRun } from './execute-run.js';
import type { RunCancellations } from './run-cancellations.js';
import { failedOutcome } from './run-outcome.js';
import type { RunSlot } from './run-slot.js';

export interface ExecuteSlotDeps {
  cancellations: RunCancellations;
  /** The job's handler; a promise only while it has to be loaded. */
  resolveHandler: (def: JobDefinition) => JobHandler | Promise<JobHandler>;
  baseDir: string;
  secrets: HandlerSecrets;
  clock: Clock;
}

/**
 * A held run's outcome: its handler's, or a failure without calling it (a job no longer in the jobs file, a run
 * cancelled before it started, a handler module that does not load). A promise only when something has to be
 * waited for: most no-op-ish runs finish synchronously up to their handler.
 */
export function executeSlot(
  slot: RunSlot,
  def: JobDefinition | undefined,
  d: ExecuteSlotDeps,
): ExecuteResult | Promise<ExecuteResult> {
  const { req, abort } = slot;
  const cancelled = d.cancellations.errorFor(req.runId);
  if (cancelled) abort.abort(cancelled);
  const targets = req.targets ?? [];
  if (!def) {
    const err = new ValidationError(`job ${req.job} is not in the jobs file`, { code: ErrorCode.JOB_NOT_FOUND });
    return { outcome: failedOutcome(err, targets), attempts: 1, targets };
  }
  if (abort.aborted) return { outcome: failedOutcome(abort.reason, targets), attempts: 1, targets };
  const run = (handler: JobHandler) =>
    executeRun({
      runId: req.runId,
      def,
      handler,
      requestedTargets: req.targets,
      scheduledAt: req.scheduledAt,
      baseDir: d.baseDir,
      secrets: d.secrets,
      clock: d.clock,
      hooks: slot,
    });
  const handler = d.resolveHandler(def);
  if (!(handler instanceof Promise)) return run(handler);
  return handler.then(run, (err: unknown) => ({ outcome: failedOutcome(err, targets), attempts: 1, targets }));
}
