import { BAD, TERMINAL } from './run-record.js';

/** Per job, in KV `vigil_jobs` (key = job name). */
export interface JobState {
  paused: boolean;
  pausedReason?: string;
  lastRunId?: string;
  lastStatus?: string;
  lastRunAt?: string;
  lastSuccessAt?: string;
  /** The run occupying the job (forbid/replace), while requested or started. */
  currentRunId?: string;
  currentStatus?: string;
  /** The newest slot a scheduler handled (epoch ms): catch-up starts after it. */
  lastSlotAt?: number;
}

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
  if (status === 'requested' || status === 'started') {
    if (!prev.currentRunId || prev.currentRunId === runId || status === 'requested') {
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
    if (prev.currentRunId === runId) {
      state.currentRunId = undefined;
      state.currentStatus = undefined;
    }
  }
  return { state, recovered };
}
