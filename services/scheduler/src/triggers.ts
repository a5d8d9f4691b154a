import {
  type CloudEvent,
  type ConsumerHandle,
  ErrorCode,
  type JobTrigger,
  JobTriggerSchema,
  newEventId,
  PermanentError,
  Subjects,
  triggerRunId,
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
  if (!def) return { status: 404, code: ErrorCode.JOB_NOT_FOUND, message: `no job named ${JSON.stringify(job)}` };
  const parsed = JobTriggerSchema.safeParse(body ?? {});
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
    return { status: 400, code: ErrorCode.VALIDATION, message: msg };
  }
  const trigger = parsed.data;
  // A job with a fixed target list knows a typo at once: a 400 now, not an accepted run that fails and pages
  // someone. Targets read from a secret are checked by the runner (the list may change between now and then).
  const fixed = Array.isArray(def.targets) ? def.targets : undefined;
  if (fixed && trigger.targets?.length) {
    const unknown = trigger.targets.filter((t) => !fixed.includes(t));
    if (unknown.length > 0) {
      const message = `targets: ${unknown.map((t) => JSON.stringify(t)).join(', ')} not in job ${job}'s targets (${fixed.join(', ')})`;
      return { status: 400, code: ErrorCode.VALIDATION, message };
    }
  }
  const state = ctx.jobStates.get(job);
  const decision = decideStart(def, state, ctx.occupyingRun(def.name), { manual: true, force: trigger.force });
  if (decision.action === 'conflict') {
    const code = decision.runningRunId ? ErrorCode.JOB_ALREADY_RUNNING : ErrorCode.CONFLICT;
    return { status: 409, code, message: decision.reason, runningRunId: decision.runningRunId };
  }
  // the id the consumer will use (a ULID is used as it is), so the caller is told the runId the run gets
  const eventId = newEventId();
  const runId = triggerRunId(eventId);
  const data: JobTrigger = { ...trigger };
  if (!data.requestedBy && requestedBy) data.requestedBy = requestedBy;
  await ctx.bus.publish(Subjects.jobTrigger(job), data, {
    id: eventId,
    msgId: eventId,
    time: new Date(ctx.clock.now()),
  });
  return { status: 202, runId };
}

/** `job.trigger.<job>` from anyone -> `job.requested.<job>` with runId = triggerRunId(the trigger event's id). */
export async function startTriggerConsumer(ctx: SchedulerContext): Promise<ConsumerHandle> {
  return ctx.bus.consume<JobTrigger>({
    subject: 'job.trigger.>',
    durable: 'scheduler-triggers',
    concurrency: 64,
    prefetch: 256,
    handler: (event, msg) => handleTrigger(ctx, event, msg.subject),
  });
}

/**
 * `subject` is the NATS subject the trigger came on (`job.trigger.<job>`): it names the job, whatever the
 * CloudEvent's own `subject` field says.
 */
export async function handleTrigger(
  ctx: SchedulerContext,
  event: CloudEvent<JobTrigger>,
  subject: string,
): Promise<void> {
  const job = subject.split('.').slice(2).join('.');
  const def = ctx.job(job);
  if (!def) {
    throw new PermanentError(`trigger for unknown job ${JSON.stringify(job)}`, { code: ErrorCode.JOB_NOT_FOUND });
  }
  const t = event.data;
  const runId = triggerRunId(event.id);
  if (runId !== event.id) ctx.log.info({ eventId: event.id, runId, job }, 'trigger event id is no safe runId; hashed');
  const known = ctx.runs.values.get(runId);
  if (known) {
    // The same trigger event again (a publisher retrying with its event id as the idempotency key) after the
    // stream's 2-minute duplicate window: its run was requested already (and may have run), so it is not run again.
    ctx.log.info(
      { eventId: event.id, runId, job, status: known.status },
      'trigger already handled (same event id): not run again',
    );
    return;
  }
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
