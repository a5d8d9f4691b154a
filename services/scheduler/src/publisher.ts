import { type JobRun, Subjects } from '@vigil/shared';
import type { SchedulerContext } from './context.js';
import type { RunRecord } from './run-record.js';

export interface RunRequest {
  runId: string;
  job: string;
  trigger: JobRun['trigger'];
  scheduledAt: number;
  reason?: string;
  requestedBy?: string;
  targets?: string[];
  notBefore?: string;
  /** A forced manual trigger: runners do not queue it behind the job's running run. */
  force?: boolean;
}

/**
 * `job.requested.<job>`, de-duplicated by the stream however many replicas publish it. `Nats-Msg-Id` is the
 * runId for slot and backup runs; for manual runs it is `requested.<runId>`, because the runId is the id of
 * the `job.trigger` event, which sits in the same stream under that msg-id already.
 */
export async function publishRequested(ctx: SchedulerContext, req: RunRequest): Promise<void> {
  const data: JobRun = {
    runId: req.runId,
    job: req.job,
    attempt: 1,
    trigger: req.trigger,
    scheduledAt: new Date(req.scheduledAt).toISOString(),
    status: 'requested',
  };
  if (req.reason) data.reason = req.reason;
  if (req.requestedBy) data.requestedBy = req.requestedBy;
  if (req.targets && req.targets.length > 0) data.targets = req.targets;
  if (req.notBefore) data.notBefore = req.notBefore;
  if (req.force) data.force = true;
  await ctx.bus.publish(Subjects.jobRequested(req.job), data, {
    msgId: req.trigger === 'manual' ? `requested.${req.runId}` : req.runId,
    time: new Date(ctx.clock.now()),
  });
}

type Verdict = 'missed' | 'stuck' | 'skipped' | 'recovered';

/** A scheduler verdict about a run; msgId `<verdict>.<runId>` so every replica may say it and it is said once. */
export async function publishVerdict(
  ctx: SchedulerContext,
  verdict: Verdict,
  run: Pick<RunRecord, 'runId' | 'job' | 'trigger' | 'scheduledAt'> & Partial<RunRecord>,
  reason: string,
): Promise<void> {
  const data: JobRun = {
    runId: run.runId,
    job: run.job,
    attempt: run.attempt ?? 1,
    trigger: run.trigger,
    scheduledAt: run.scheduledAt,
    status: verdict,
    reason,
  };
  if (run.startedAt) data.startedAt = run.startedAt;
  if (run.requestedBy) data.requestedBy = run.requestedBy;
  if (run.targets) data.targets = run.targets;
  if (verdict === 'stuck' && run.startedAt) data.durationMs = ctx.clock.now() - Date.parse(run.startedAt);
  const ack = await ctx.bus.publish(Subjects.jobEvent(verdict, run.job), data, {
    msgId: `${verdict}.${run.runId}`,
    time: new Date(ctx.clock.now()),
  });
  // the runner counts the runs it finishes; missed, stuck and skipped runs only the scheduler knows about.
  // Counted by the replica whose copy the stream kept, so replicas do not add up to more than happened.
  if (!ack.duplicate && verdict !== 'recovered') {
    ctx.metrics?.jobRunsTotal.inc({ job: run.job, trigger: run.trigger, status: verdict });
  }
  ctx.log.warn({ runId: run.runId, job: run.job, verdict, reason, duplicate: ack.duplicate }, `run ${verdict}`);
}
