import {
  type CloudEvent,
  type ConsumerHandle,
  ErrorCode,
  type JobTrigger,
  JobTriggerSchema,
  newEventId,
  PermanentError,
  Subjects,
} from '@vigil/shared';
import { decideStart } from './concurrency.js';
import type { SchedulerContext } from './context.js';
import { publishRequested, publishVerdict } from './publisher.js';

export type TriggerOutcome =
  | { status: 202; runId: string }
  | { status: 400 | 404 | 409; code: string; message: string; runningRunId?: string };

/**
 * API side of a manual trigger (HTTP and NATS): check it, then publish `job.trigger.<job>`, whose event id
 * becomes the runId, so the caller knows it at once. The scheduler's own consumer turns it into a run.
 */
export async function requestManualTrigger(
  ctx: SchedulerContext,
  job: string,
  body: unknown,
  requestedBy?: string,
): Promise<TriggerOutcome> {
  const def = ctx.job(job);
  if (!def) return { status: 404, code: ErrorCode.JOB_NOT_FOUND, message: `no job named "${job}"` };
  const parsed = JobTriggerSchema.safeParse(body ?? {});
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
    return { status: 400, code: ErrorCode.VALIDATION, message: msg };
  }
  const trigger = parsed.data;
  const state = ctx.jobStates.get(job);
  const decision = decideStart(def, state, ctx.occupyingRun(def.name), { manual: true, force: trigger.force });
  if (decision.action === 'conflict') {
    const code = decision.runningRunId ? ErrorCode.JOB_ALREADY_RUNNING : ErrorCode.CONFLICT;
    return { status: 409, code, message: decision.reason, runningRunId: decision.runningRunId };
  }
  const runId = newEventId();
  const data: JobTrigger = { ...trigger };
  if (!data.requestedBy && requestedBy) data.requestedBy = requestedBy;
  await ctx.bus.publish(Subjects.jobTrigger(job), data, { id: runId, msgId: runId, time: new Date(ctx.clock.now()) });
  return { status: 202, runId };
}

/** `job.trigger.<job>` from anyone -> `job.requested.<job>` with runId = the trigger event's id. */
export async function startTriggerConsumer(ctx: SchedulerContext): Promise<ConsumerHandle> {
  return ctx.bus.consume<JobTrigger>({
    subject: 'job.trigger.>',
    durable: 'scheduler-triggers',
    concurrency: 64,
    prefetch: 256,
    handler: (event) => handleTrigger(ctx, event),
  });
}

export async function handleTrigger(ctx: SchedulerContext, event: CloudEvent<JobTrigger>): Promise<void> {
  const job = event.subject.split('.').slice(2).join('.');
  const def = ctx.job(job);
  if (!def) {
    throw new PermanentError(`trigger for unknown job "${job}"`, { code: ErrorCode.JOB_NOT_FOUND });
  }
  const t = event.data;
  const runId = event.id;
  const requestedAt = Date.parse(event.time) || ctx.clock.now();
  const state = ctx.jobStates.get(job);
  const active = ctx.occupyingRun(def.name);
  const decision =
    active === runId ? { action: 'run' as const } : decideStart(def, state, active, { manual: true, force: t.force });
  const notBefore = t.delaySeconds ? requestedAt + t.delaySeconds * 1000 : undefined;
  if (decision.action === 'conflict' || decision.action === 'skip') {
    await publishVerdict(
      ctx,
      'skipped',
      {
        runId,
        job,
        trigger: 'manual',
        scheduledAt: new Date(notBefore ?? requestedAt).toISOString(),
        requestedBy: t.requestedBy,
      },
      `manual trigger refused: ${decision.reason}`,
    );
    return;
  }
  if (decision.action === 'replace') {
    await ctx.bus.publish(
      Subjects.jobCancel(job),
      { runId: decision.cancelRunId, job, reason: `replaced by manual run ${runId} (concurrency replace)` },
      { msgId: `cancel.${decision.cancelRunId}` },
    );
  }
  await publishRequested(ctx, {
    runId,
    job,
    trigger: 'manual',
    scheduledAt: notBefore ?? requestedAt,
    reason: t.reason,
    requestedBy: t.requestedBy,
    targets: t.targets,
    notBefore: notBefore === undefined ? undefined : new Date(notBefore).toISOString(),
  });
}
