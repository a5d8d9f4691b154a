import { BAD, TERMINAL } from './run-record.js';

/** Per job, in KV `vigil_jobs` (key = job name). */
export interface JobState {
  paused: boolean;
  pausedReason?: string;
  lastRunId?: string;
  lastStatus?: string;
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
}

/** Folds a run status change into the job's state. */
export function applyRunToJob(prev: JobState, runId: string, status: string, at: string): JobStateChange {
  const state: JobState = { ...prev };
  let recovered = false;
  const active = prev.activeRunIds ?? (prev.currentRunId ? [prev.currentRunId] : []);
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
      recovered = prev.lastStatus !== undefined && BAD.has(prev.lastStatus);
      state.lastSuccessAt = at;
    }
    if (status !== 'skipped') {
      state.lastStatus = status;
      state.lastRunId = runId;
      state.lastRunAt = at;
    }
    const rest = active.filter((id) => id !== runId);
    if (rest.length !== active.length || prev.activeRunIds) state.activeRunIds = rest.length > 0 ? rest : undefined;
    if (prev.currentRunId === runId) {
      // the next earliest run still active becomes current (it was requested at least)
      state.currentRunId = rest[0];
      state.currentStatus = rest[0] === undefined ? undefined : 'requested';
    }
  }
  return { state, recovered };
}
