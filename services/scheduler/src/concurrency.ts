import type { JobDefinition } from '@vigil/shared';
import type { SchedulerContext } from './context.js';
import { dropRun, type JobState } from './job-state.js';
import { decodeJson, updateJson } from './kv-json.js';
import { hasStarted, isActive, type RunRecord } from './run-record.js';

export type StartDecision =
  | { action: 'run' }
  | { action: 'replace'; cancelRunId: string }
  /** Schedule: do not run, say so with job.skipped (or nothing for a paused job). */
  | { action: 'skip'; reason: string; silent?: boolean }
  /** Manual, not forced: refuse (HTTP 409). */
  | { action: 'conflict'; reason: string; runningRunId?: string };

/**
 * The run occupying the job, if any: the earliest of the job's requested or started runs that still does; the
 * run record (fresher) wins over the job state. A run past its start deadline (missed) or its timeout (stuck)
 * no longer occupies the job, even before the verdict is stored: a job must not be blocked forever by a run
 * nobody is executing. A delayed run (`notBefore`, e.g. `vigil trigger --delay 6d`) occupies the job only from
 * `notBefore` on (the runner does not start it before): until then slots and triggers go on as if it were not there.
 */
export function activeRunId(
  state: JobState | undefined,
  runs: { get(id: string): RunRecord | undefined },
  overdue: (run: RunRecord) => boolean = () => false,
  nowMs?: number,
  /** Runs known to be over (their stored record is terminal) although a live copy does not show it yet. */
  exclude?: ReadonlySet<string>,
): string | undefined {
  const ids = state?.activeRunIds ?? (state?.currentRunId ? [state.currentRunId] : []);
  for (const id of ids) {
    if (exclude?.has(id)) continue;
    const rec = runs.get(id);
    if (rec) {
      if (!isActive(rec) || overdue(rec)) continue;
      if (nowMs !== undefined && !rec.startedAt && rec.notBefore && Date.parse(rec.notBefore) > nowMs) continue;
      return id;
    }
    // no record in the live copy yet (the two buckets are watched apart): trust the job state
    if (id === state?.currentRunId && (state.currentStatus === 'requested' || state.currentStatus === 'started'))
      return id;
  }
  return undefined;
}

/** A run occupying a job, with its stored record when it has one yet: read once, for the check and for the reason. */
export interface Occupier {
  runId: string;
  record?: RunRecord;
}

/**
 * The run occupying the job, checked against the stored run record before a slot is skipped, a trigger refused
 * or a run cancelled because of it: the live copies of `vigil_jobs` and `vigil_runs` are watched apart and may
 * lag (a watch re-opened after a broker restart), and a job state may still list a run that ended. A run whose
 * stored record is no longer requested or started never occupies the job; it is taken out of the job state.
 */
export async function confirmedOccupier(ctx: SchedulerContext, job: string): Promise<Occupier | undefined> {
  const over = new Set<string>();
  for (;;) {
    const id = ctx.occupyingRun(job, over);
    if (id === undefined) return undefined;
    const stored = await storedRun(ctx, id);
    if (!stored || isActive(stored)) return { runId: id, record: stored };
    ctx.log.warn({ job, runId: id, status: stored.status }, 'job state listed a finished run as active; dropped');
    over.add(id);
    await dropFromJob(ctx, job, id);
  }
}

/** The run's record as stored in KV `vigil_runs` (not the live copy, which may lag). */
export async function storedRun(ctx: SchedulerContext, runId: string): Promise<RunRecord | undefined> {
  return decodeJson<RunRecord>(await ctx.kv.runs.get(runId));
}

/** Takes a run that is over out of its job's stored state (see dropRun); nothing when the state does not list it. */
export function dropFromJob(ctx: SchedulerContext, job: string, runId: string): Promise<unknown> {
  return updateJson<JobState>(ctx.kv.jobs, job, (prev) => (prev ? dropRun(prev, runId) : undefined));
}

/** Whether a new run may start now, per the job's concurrency policy and pause state. */
export function decideStart(
  def: JobDefinition,
  state: JobState | undefined,
  active: string | undefined,
  opts: {
    manual: boolean;
    force?: boolean;
    /** The record of `active` (its stored one), to tell a run that is running from one queued and not started. */
    activeRun?: RunRecord;
    /** Now (ms): the time a run is queued since is written with its date when that is not today. */
    nowMs?: number;
  },
): StartDecision {
  if (state?.paused) {
    if (!opts.manual) return { action: 'skip', reason: 'job is paused', silent: true };
    if (!opts.force)
      return {
        action: 'conflict',
        reason: `job ${def.name} is paused (force: true, or vigil trigger --force, runs it anyway)`,
      };
  }
  if (!active || def.concurrency === 'allow') return { action: 'run' };
  if (def.concurrency === 'replace') return { action: 'replace', cancelRunId: active };
  if (opts.manual && opts.force) return { action: 'run' };
  const reason = `${occupiedBy(active, opts.activeRun, opts.nowMs)} (concurrency forbid)`;
  if (!opts.manual) return { action: 'skip', reason };
  return {
    action: 'conflict',
    reason: `${reason}; force: true (vigil trigger --force) starts another`,
    runningRunId: active,
  };
}

/**
 * What holds the job, as a skipped slot's or a refused trigger's reason says it: `run X is still running`, or, for a
 * run requested and never started (no runner took it: the runners are down, or the handler's service is paused),
 * `run X is queued since 14:03 UTC and has not started`. Without the run's record: `still running`, as before.
 */
export function occupiedBy(runId: string, run: RunRecord | undefined, nowMs?: number): string {
  if (run?.status !== 'requested' || hasStarted(run)) return `run ${runId} is still running`;
  const since = run.requestedAt ?? run.scheduledAt;
  return `run ${runId} is queued since ${utcTime(since, nowMs)} and has not started`;
}

/** `14:03 UTC`, or `2026-01-01 14:03 UTC` when not on the same UTC day as `nowMs` (or with no `nowMs`). */
function utcTime(iso: string, nowMs?: number): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const text = d.toISOString();
  const sameDay = nowMs !== undefined && new Date(nowMs).toISOString().slice(0, 10) === text.slice(0, 10);
  return `${sameDay ? '' : `${text.slice(0, 10)} `}${text.slice(11, 16)} UTC`;
}
