import { ErrorCode, type JobStatus, jobsFileProblem, RUN_STATUSES } from '@vigil/shared';
import type { NatsConnection } from 'nats';
import { z } from 'zod';
import type { BreakerTracker } from './breakers.js';
import type { SchedulerContext } from './context.js';
import { setPaused } from './pause.js';
import { jobView, listRuns } from './queries.js';
import type { RunRecord } from './run-record.js';
import { systemHealth } from './system-health.js';
import type { Ticker } from './ticker.js';
import { requestManualTrigger } from './triggers.js';

export interface ApiResult {
  status: number;
  body: unknown;
}

const err = (status: number, code: string, message: string, details?: Record<string, unknown>): ApiResult => ({
  status,
  body: { error: { code, message, ...(details ? { details } : {}) } },
});

export const RunQuerySchema = z.object({
  job: z.string().min(1).optional(),
  status: z
    .string()
    .refine((s) => RUN_STATUSES.includes(s as JobStatus), `must be one of ${RUN_STATUSES.join(', ')}`)
    .optional(),
  since: z
    .string()
    .refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO time')
    .optional(),
  limit: z.coerce
    .number({ error: 'must be a whole number from 1 to 1000' })
    .int('must be a whole number from 1 to 1000')
    .min(1, 'must be a whole number from 1 to 1000')
    .max(1_000, 'must be a whole number from 1 to 1000')
    .optional(),
});

/**
 * The contract writes the route `GET /api/runs?job=&status=&since=&limit=`: an empty parameter is one not given
 * (its default), not a job named "" or a limit of 0. A non-empty bad value is still a 400.
 */
export function withoutEmptyParams(query: unknown): unknown {
  if (query === undefined || query === null) return {};
  if (typeof query !== 'object' || Array.isArray(query)) return query;
  return Object.fromEntries(Object.entries(query).filter(([, v]) => v !== ''));
}

const PauseBodySchema = z.object({ reason: z.string().optional() }).optional();

/** The scheduler's API, transport-free: the HTTP routes and the NATS endpoints (CLI) both call it. */
export class SchedulerApi {
  constructor(
    private readonly ctx: SchedulerContext,
    private readonly ticker: Ticker,
    private readonly nc: NatsConnection,
    private readonly breakers: BreakerTracker,
  ) {}

  jobs(): ApiResult {
    const jobs = Object.values(this.ctx.jobs().jobs).map((def) =>
      jobView(def, this.ctx.jobStates.get(def.name), this.ticker.nextRunAt(def.name), this.currentRun(def.name)),
    );
    // a rejected edit of the jobs file: the list is the version still in use, not what the file on disk says
    const status = this.ctx.jobsFile?.();
    const problem = status && jobsFileProblem(status);
    const jobsFile = status ? { ...status, ...(problem ? { problem } : {}) } : undefined;
    return { status: 200, body: jobsFile ? { jobs, jobsFile } : { jobs } };
  }

  /** The record of the job's current run, if it has one (a delayed run shows as waiting, not running). */
  private currentRun(name: string): RunRecord | undefined {
    const id = this.ctx.jobStates.get(name)?.currentRunId;
    return id ? this.ctx.runs.get(id) : undefined;
  }

  job(name: string): ApiResult {
    const def = this.ctx.job(name);
    if (!def) return err(404, ErrorCode.JOB_NOT_FOUND, `no job named ${JSON.stringify(name)}`);
    const view = jobView(def, this.ctx.jobStates.get(name), this.ticker.nextRunAt(name), this.currentRun(name));
    const recentRuns = listRuns(this.ctx, { job: name, limit: 10 });
    return { status: 200, body: { ...view, definition: def, recentRuns } };
  }

  async trigger(name: string, body: unknown, requestedBy?: string): Promise<ApiResult> {
    const out = await requestManualTrigger(this.ctx, name, body, requestedBy);
    if (out.status === 202)
      return { status: 202, body: out.duplicate ? { runId: out.runId, duplicate: true } : { runId: out.runId } };
    return err(out.status, out.code, out.message, out.runningRunId ? { runningRunId: out.runningRunId } : undefined);
  }

  async pause(name: string, paused: boolean, body?: unknown): Promise<ApiResult> {
    if (!this.ctx.job(name)) return err(404, ErrorCode.JOB_NOT_FOUND, `no job named ${JSON.stringify(name)}`);
    const parsed = PauseBodySchema.safeParse(body ?? undefined);
    if (!parsed.success) return err(400, ErrorCode.VALIDATION, 'body must be { reason?: string }');
    const state = await setPaused(this.ctx, name, paused, parsed.data?.reason);
    return {
      status: 200,
      body: jobView(this.ctx.job(name) ?? ({ name } as never), state, this.ticker.nextRunAt(name)),
    };
  }

  runs(query: unknown): ApiResult {
    const parsed = RunQuerySchema.safeParse(withoutEmptyParams(query));
    if (!parsed.success) {
      return err(
        400,
        ErrorCode.VALIDATION,
        parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      );
    }
    const runs = listRuns(this.ctx, parsed.data);
    const { job } = parsed.data;
    // a job neither in the jobs file nor in the history is a typo: say so, not an empty list
    if (job !== undefined && runs.length === 0 && !this.ctx.job(job) && !hasRunsOf(this.ctx, job)) {
      return err(404, ErrorCode.JOB_NOT_FOUND, `no job named ${JSON.stringify(job)} (not in the jobs file, no runs)`);
    }
    return { status: 200, body: { runs } };
  }

  run(runId: string): ApiResult {
    const run = this.ctx.runs.get(runId);
    if (!run) return err(404, ErrorCode.RUN_NOT_FOUND, `no run ${JSON.stringify(runId)}`);
    return { status: 200, body: run };
  }

  async health(): Promise<ApiResult> {
    return { status: 200, body: await systemHealth(this.ctx, this.nc, this.breakers) };
  }
}

function hasRunsOf(ctx: SchedulerContext, job: string): boolean {
  for (const r of ctx.runs.values.values()) if (r.job === job) return true;
  return false;
}
