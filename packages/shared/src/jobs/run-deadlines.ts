import type { JobDefinition } from './types.js';

/** What a run's deadlines depend on: the scheduler's run record, or a run read back from the history. */
export interface DeadlineRun {
  status: string;
  scheduledAt: string;
  notBefore?: string;
  /** When the run was requested (the scheduler's record; a catch-up or queued trigger is requested late). */
  requestedAt?: string;
  startedAt?: string;
}

export interface StartDeadlines {
  /**
   * What the start deadline counts from: the slot, or `notBefore`, or when the run was requested if that is
   * later (a catch-up run keeps its old slot; a trigger may wait in the stream).
   */
  startFrom: number;
  /** Not started by then -> job.missed. */
  startBy: number;
  /** Still running then -> job.stuck (from the start, or from startBy while the start is unknown). */
  stuckAt: number;
}

/** The defaults of jobs that set no deadline (SCHEDULER_START_DEADLINE, SCHEDULER_DEFAULT_TIMEOUT; see jobDeadlineEnv). */
export interface DeadlineDefaults {
  startDeadlineMs: number;
  timeoutMs: number;
}

/**
 * When a run is missed or stuck: the scheduler's watchdogs act on these, and the runner's health report judges a run
 * that has no verdict yet by the same ones.
 */
export function startDeadlines(
  run: DeadlineRun,
  def: JobDefinition | undefined,
  defaults: DeadlineDefaults,
): StartDeadlines {
  const scheduled = Date.parse(run.scheduledAt);
  const notBefore = run.notBefore ? Date.parse(run.notBefore) : scheduled;
  const requested = run.requestedAt ? Date.parse(run.requestedAt) : scheduled;
  const startFrom = Math.max(scheduled, notBefore || scheduled, requested || scheduled);
  const startBy = startFrom + (def?.startDeadline ?? defaults.startDeadlineMs);
  const stuckAt = (run.startedAt ? Date.parse(run.startedAt) : startBy) + (def?.timeout ?? defaults.timeoutMs);
  return { startFrom, startBy, stuckAt };
}

/** True once a run has outlived the deadline that applies to it now (start deadline, else timeout). */
export function isOverdue(
  run: DeadlineRun,
  def: JobDefinition | undefined,
  defaults: DeadlineDefaults,
  nowMs: number,
): boolean {
  const d = startDeadlines(run, def, defaults);
  if (run.status === 'requested' && !run.startedAt) return nowMs >= d.startBy;
  return nowMs >= d.stuckAt;
}
