import type { SchedulerContext } from './context.js';
import { emptyJobState, type JobState } from './job-state.js';
import { updateJson } from './kv-json.js';

/** Paused jobs skip their slots (a manual trigger with `force` still runs them). Shared by every replica via KV. */
export async function setPaused(
  ctx: SchedulerContext,
  job: string,
  paused: boolean,
  reason?: string,
): Promise<JobState> {
  const state = await updateJson<JobState>(ctx.kv.jobs, job, (prev) => {
    const s: JobState = { ...(prev ?? emptyJobState()), paused };
    if (paused && reason) s.pausedReason = reason;
    if (!paused) delete s.pausedReason;
    return s;
  });
  ctx.log.info({ job, paused, reason }, paused ? 'job paused' : 'job resumed');
  return state ?? { paused };
}
