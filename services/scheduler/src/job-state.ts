import { BAD, TERMINAL } from './run-record.js';

/** Per job, in KV `vigil_jobs` (key = job name). */
export interface JobState {
  paused: boolean;
  pausedReason?: string;
  lastRunId?: string;
  /** The newest finished run's status, whatever it was (a cancelled run included; a skipped one never ran). */
  lastStatus?: string;
  /**
   * The newest outcome that says something about the job's health: succeeded, failed, partial, missed or stuck.
   * A cancelled run (replaced under `concurrency: replace`, or job.cancel) or a skipped one is no verdict, so it
   * leaves this alone: failed → cancelled → succeeded is still a recovery from the failure.
   */
  lastOutcome?: string;
  lastRunAt?: string;
  lastSuccessAt?: string;
  /**
   * The earliest run of the job still requested or started (forbid/replace jobs): a later run (forced, backup)
   * never takes its place, so its end does not free the job while this one still runs.
   */
  currentRunId?: string;
  currentStatus?: string;
  /** Every run still requested or started, oldest first (at most MAX_ACTIVE); occupancy is decided from these. */
  activeRunIds?: string[];
  /** The newest slot a scheduler handled (epoch ms): catch-up starts after it. */
  lastSlotAt?: number;
}

const MAX_ACTIVE = 32;

export const emptyJobState = (): JobState => ({ paused: false });

export interface JobStateChange {
  state: JobState;
  /** True when this success follows a failed, partial, missed or stuck run: publish job.recovered. */
  recovered: boolean;
  /** With `recovered`: the bad outcome recovered from (failed, partial, missed or stuck). */
  recoveredFrom?: string;
}

/** Outcomes that are no verdict on the job's health. */
const NO_VERDICT = new Set(['cancelled', 'skipped']);

/**
 * The last health verdict in a state. States written before `lastOutcome` existed only have `lastStatus`, which
 * is the verdict unless it was a cancelled run.
 */
function lastOutcomeOf(s: JobState): string | undefined {
  if (s.lastOutcome !== undefined) return s.lastOutcome;
  return s.lastStatus !== undefined && !NO_VERDICT.has(s.lastStatus) ? s.lastStatus : undefined;
}

/**
 * Takes a run that is no longer requested or started (its record is terminal, missed or stuck) out of the job's
 * active runs, leaving everything else alone. `undefined` when the state does not list it. Used when a late
 * `job.requested`/`job.started` (redelivered after a broker restart, or folded by another replica after the run's
 * end) would otherwise put a finished run back, where it would hold a `forbid` job for good.
 */
export function dropRun(prev: JobState, runId: string): JobState | undefined {
  const active = activeOf(prev);
  if (!active.includes(runId) && prev.currentRunId !== runId) return undefined;
  const state: JobState = { ...prev };
  removeActive(state, prev, active, runId);
  return state;
}

const activeOf = (s: JobState): string[] => s.activeRunIds ?? (s.currentRunId ? [s.currentRunId] : []);

/** Takes `runId` out of `state`'s active runs; the next earliest run still active becomes current. */
function removeActive(state: JobState, prev: JobState, active: string[], runId: string): void {
  const rest = active.filter((id) => id !== runId);
  if (rest.length !== active.length || prev.activeRunIds) state.activeRunIds = rest.length > 0 ? rest : undefined;
  if (prev.currentRunId === runId) {
    // it was requested at least
    state.currentRunId = rest[0];
    state.currentStatus = rest[0] === undefined ? undefined : 'requested';
  }
}

/** Folds a run status change into the job's state. */
export function applyRunToJob(prev: JobState, runId: string, status: string, at: string): JobStateChange {
  const state: JobState = { ...prev };
  let recovered = false;
  let recoveredFrom: string | undefined;
  const active = activeOf(prev);
  if (status === 'requested' || status === 'started') {
    if (!active.includes(runId)) state.activeRunIds = [...active, runId].slice(-MAX_ACTIVE);
    if (!prev.currentRunId || prev.currentRunId === runId) {
      state.currentRunId = runId;
      state.currentStatus = status;
    }
    return { state, recovered };
  }
  if (status === 'recovered') return { state, recovered };
  if (TERMINAL.has(status) || BAD.has(status)) {
    if (status === 'succeeded') {
      const before = lastOutcomeOf(prev);
      recovered = before !== undefined && BAD.has(before);
      if (recovered) recoveredFrom = before;
      state.lastSuccessAt = at;
    }
    // a cancelled or skipped run keeps the verdict before it (also one only a state from before `lastOutcome` holds)
    const outcome = NO_VERDICT.has(status) ? lastOutcomeOf(prev) : status;
    if (outcome !== undefined) state.lastOutcome = outcome;
    if (status !== 'skipped') {
      state.lastStatus = status;
      state.lastRunId = runId;
      state.lastRunAt = at;
    }
    removeActive(state, prev, active, runId);
  }
  return recoveredFrom === undefined ? { state, recovered } : { state, recovered, recoveredFrom };
}
