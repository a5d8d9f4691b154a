import type { JobDefinition } from '@vigil/shared';
import type { SchedulerContext } from './context.js';
import type { JobState } from './job-state.js';
import type { RunRecord } from './run-record.js';

export interface JobView {
  name: string;
  handler: string;
  schedule?: string;
  every?: number;
  timezone: string;
  concurrency: string;
  paused: boolean;
  nextRunAt?: string;
  lastStatus?: string;
  lastRunId?: string;
  lastRunAt?: string;
  lastSuccessAt?: string;
  currentRunId?: string;
  /** The current run's status (`requested`, `started`) and, for a delayed one, when it may start. */
  currentStatus?: string;
  currentNotBefore?: string;
  /** The newest slot a scheduler handled. */
  lastSlotAt?: string;
  targets?: JobDefinition['targets'];
}

export function jobView(
  def: JobDefinition,
  state: JobState | undefined,
  nextRunAt: number | undefined,
  current?: RunRecord,
): JobView {
  const view: JobView = {
    name: def.name,
    handler: def.handler,
    timezone: def.timezone,
    concurrency: def.concurrency,
    paused: state?.paused ?? false,
  };
  if (def.schedule) view.schedule = def.schedule;
  if (def.every) view.every = def.every;
  if (def.targets) view.targets = def.targets;
  if (nextRunAt !== undefined && !view.paused) view.nextRunAt = new Date(nextRunAt).toISOString();
  if (state?.lastStatus) view.lastStatus = state.lastStatus;
  if (state?.lastRunId) view.lastRunId = state.lastRunId;
  if (state?.lastRunAt) view.lastRunAt = state.lastRunAt;
  if (state?.lastSuccessAt) view.lastSuccessAt = state.lastSuccessAt;
  if (state?.currentRunId) {
    view.currentRunId = state.currentRunId;
    if (current?.runId === state.currentRunId) {
      view.currentStatus = current.status;
      if (current.notBefore && current.status === 'requested') view.currentNotBefore = current.notBefore;
    }
  }
  if (state?.lastSlotAt !== undefined) view.lastSlotAt = new Date(state.lastSlotAt).toISOString();
  return view;
}

export interface RunFilter {
  job?: string;
  status?: string;
  since?: string;
  limit?: number;
}

/** Newest first (by scheduled time, then request time). */
export function listRuns(ctx: SchedulerContext, filter: RunFilter): RunRecord[] {
  const since = filter.since ? Date.parse(filter.since) : undefined;
  const limit = Math.min(Math.max(filter.limit ?? 50, 1), 1_000);
  const out: RunRecord[] = [];
  for (const r of ctx.runs.values.values()) {
    if (filter.job && r.job !== filter.job) continue;
    if (filter.status && r.status !== filter.status) continue;
    if (since !== undefined && Date.parse(r.scheduledAt) < since) continue;
    out.push(r);
  }
  out.sort(
    (a, b) => b.scheduledAt.localeCompare(a.scheduledAt) || (b.requestedAt ?? '').localeCompare(a.requestedAt ?? ''),
  );
  return out.slice(0, limit);
}
