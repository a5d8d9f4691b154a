import type { JobDefinition } from '@vigil/shared';
import type { RunRecord } from './run-record.js';

export interface RunDeadlines {
  /**
   * What the start deadline counts from: the slot, or `notBefore`, or when the run was requested if that is
   * later (a catch-up run keeps its old slot; a trigger may wait in the stream).
   */
  startFrom: number;
  /** Not started by then -> job.missed. */
  startBy: number;
  /** Still running then -> job.stuck (from the start, or from startBy while the start is unknown). */
  stuckAt: number;
  /**
   * No success by then -> a backup run for the uncovered targets (scheduled and catch-up runs that were
   * requested; a slot that catch-up reported missed was never requested and gets no backup of its own).
   */
  backupAt?: number;
}

export function runDeadlines(
  run: RunRecord,
  def: JobDefinition | undefined,
  defaults: { startDeadlineMs: number; timeoutMs: number },
): RunDeadlines {
  const scheduled = Date.parse(run.scheduledAt);
  const notBefore = run.notBefore ? Date.parse(run.notBefore) : scheduled;
  const requested = run.requestedAt ? Date.parse(run.requestedAt) : scheduled;
  const startFrom = Math.max(scheduled, notBefore || scheduled, requested || scheduled);
  const startBy = startFrom + (def?.startDeadline ?? defaults.startDeadlineMs);
  const timeout = def?.timeout ?? defaults.timeoutMs;
  const stuckAt = (run.startedAt ? Date.parse(run.startedAt) : startBy) + timeout;
  const backupAt =
    def?.backup && run.requestedAt !== undefined && (run.trigger === 'schedule' || run.trigger === 'catch-up')
      ? scheduled + def.backup.after
      : undefined;
  return { startFrom, startBy, stuckAt, backupAt };
}

/** True once a run has outlived the deadline that applies to it now (start deadline, else timeout). */
export function isOverdue(
  run: RunRecord,
  def: JobDefinition | undefined,
  defaults: { startDeadlineMs: number; timeoutMs: number },
  nowMs: number,
): boolean {
  const d = runDeadlines(run, def, defaults);
  if (run.status === 'requested' && !run.startedAt) return nowMs >= d.startBy;
  return nowMs >= d.stuckAt;
}
