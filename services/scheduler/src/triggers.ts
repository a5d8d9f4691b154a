import {
  type CloudEvent,
  type ConsumerHandle,
  ErrorCode,
  type JobDefinition,
  type JobTrigger,
  newEventId,
  PermanentError,
  Subjects,
  TriggerRequestSchema,
  triggerRunId,
  ValidationError,
} from '@vigil/shared';
import { confirmedOccupier, decideStart } from './concurrency.js';
import type { SchedulerContext } from './context.js';
import { publishRequested, publishVerdict } from './publisher.js';

export type TriggerOutcome =
  /** `duplicate`: the request's `id` already named this run (requested before): it is that run, not a new one. */
  | { status: 202; runId: string; duplicate?: boolean }
  | { status: 400 | 404 | 409; code: string; message: string; runningRunId?: string };

/**
 * Why a trigger's `targets` cannot be run for the job, or undefined when they can. One check for every way in
 * (HTTP, the CLI's request, a `job.trigger` event from anyone), so a typo is refused at once everywhere rather
 * than accepted, run, failed and paged about. A job with a fixed list knows its targets; a job with none has
 * nothing a `targets` could pick (a run limited to invented targets would report coverage that does not exist);
 * targets read from a secret are checked by the runner (the list may change between now and then).
 */
export function triggerTargetsProblem(def: JobDefinition, targets: readonly string[] | undefined): string | undefined {
  if (!targets?.length) return undefined;
  const asked = targets.map((t) => JSON.stringify(t)).join(', ');
  if (def.targets === undefined)
    return `targets: job ${def.name} has no targets (none in the jobs file), so ${asked} cannot be picked; trigger it without targets`;
  if (!Array.isArray(def.targets)) return undefined;
  const fixed = def.targets;
  const unknown = targets.filter((t) => !fixed.includes(t));
  if (unknown.length === 0) return undefined;
  return `targets: ${unknown.map((t) => JSON.stringify(t)).join(', ')} not in job ${def.name}'s targets (${fixed.join(', ')})`;
}

/** Trigger ids (runIds) this process is turning into a run right now: the same id twice at once runs once. */
const handling = new WeakMap<SchedulerContext, Set<string>>();
const handlingIn = (ctx: SchedulerContext) => {
  const known = handling.get(ctx);
  if (known) return known;
  const set = new Set<string>();
  handling.set(ctx, set);
  return set;
};

/**
 * What is known of a trigger's runId already: the run in the history, or (its record not folded in yet) the run
 * occupying the job, or one this process is requesting now. A trigger whose id names a known run was handled:
 * the same request sent again (a retry after a timeout, `vigil trigger --queue --id`, a publisher re-sending its
 * event) must never run the job a second time.
 */
function knownRun(
  ctx: SchedulerContext,
  job: string,
  runId: string,
  /** Also the run occupying the job (the API; the consumer requests that one again: a redelivered trigger). */
  occupying: boolean,
): { job: string; status: string } | undefined {
  const rec = ctx.runs.get(runId);
  if (rec) return { job: rec.job, status: rec.status };
  if (handlingIn(ctx).has(runId) || (occupying && ctx.occupyingRun(job) === runId)) return { job, status: 'requested' };
  return undefined;
}

const otherJobsRun = (id: string, job: string, other: string) =>
  `id ${JSON.stringify(id)} already names a run of job ${other}, not of ${job}: use a new id`;

/**
 * API side of a manual trigger (HTTP and NATS): check it, then publish `job.trigger.<job>`, whose event id
 * becomes the runId, so the caller knows it at once. The scheduler's own consumer turns it into a run. The event
 * id is the request's `id` when it has one (the CLI always sends one: the runId it prints even when no answer
 * comes), else a new ULID; a request whose `id` already names a run of the job is answered with that run.
 */
export async function requestManualTrigger(
  ctx: SchedulerContext,
  job: string,
  body: unknown,
  requestedBy?: string,
): Promise<TriggerOutcome> {
  const def = ctx.job(job);
  if (!def) return { status: 404, code: ErrorCode.JOB_NOT_FOUND, message: `no job named ${JSON.stringify(job)}` };
  const parsed = TriggerRequestSchema.safeParse(body ?? {});
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
    return { status: 400, code: ErrorCode.VALIDATION, message: msg };
  }
  const { id, ...trigger } = parsed.data;
  const targetsProblem = triggerTargetsProblem(def, trigger.targets);
  if (targetsProblem) return { status: 400, code: ErrorCode.VALIDATION, message: targetsProblem };
  // the id the consumer will use (a ULID is used as it is), so the caller is told the runId the run gets. A caller's
  // own `id` is its idempotency key: the same id again is the same run, whether it ran, runs or is still on its way.
  const eventId = id ?? newEventId();
  const runId = triggerRunId(eventId);
  if (id !== undefined) {
    const known = knownRun(ctx, job, runId, true);
    if (known && known.job !== job)
      return { status: 409, code: ErrorCode.CONFLICT, message: otherJobsRun(id, job, known.job) };
    if (known) return { status: 202, runId, duplicate: true };
  }
  const state = ctx.jobStates.get(job);
  const occupier = await confirmedOccupier(ctx, def.name);
  // its record tells a run that is running from one queued and never started (no runner took it)
  const decision = decideStart(def, state, occupier?.runId, {
    manual: true,
    force: trigger.force,
    activeRun: occupier?.record,
    nowMs: ctx.clock.now(),
  });
  if (decision.action === 'conflict') {
    const code = decision.runningRunId ? ErrorCode.JOB_ALREADY_RUNNING : ErrorCode.CONFLICT;
    return { status: 409, code, message: decision.reason, runningRunId: decision.runningRunId };
  }
  const data: JobTrigger = { ...trigger };
  if (!data.requestedBy && requestedBy) data.requestedBy = requestedBy;
  // msgId = the id: the same trigger queued meanwhile (`vigil trigger --queue --id`) is stored once
  const ack = await ctx.bus.publish(Subjects.jobTrigger(job), data, {
    id: eventId,
    msgId: eventId,
    time: new Date(ctx.clock.now()),
  });
  return ack.duplicate ? { status: 202, runId, duplicate: true } : { status: 202, runId };
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
  // the same check as the API's: an invalid trigger is dead-lettered (validation), never run to fail later
  const targetsProblem = triggerTargetsProblem(def, t.targets);
  if (targetsProblem) throw new ValidationError(`trigger for job ${job}: ${targetsProblem}`);
  const runId = triggerRunId(event.id);
  if (runId !== event.id) ctx.log.info({ eventId: event.id, runId, job }, 'trigger event id is no safe runId; hashed');
  const known = knownRun(ctx, job, runId, false);
  if (known && known.job !== job)
    throw new ValidationError(`trigger for job ${job}: ${otherJobsRun(event.id, job, known.job)}`);
  if (known) {
    // The same trigger again (a publisher retrying with its event id as the idempotency key after the stream's
    // 2-minute duplicate window, `vigil trigger --queue --id` after a request that did get through): its run was
    // requested already (and may have run), so it is not run again.
    ctx.log.info(
      { eventId: event.id, runId, job, status: known.status },
      'trigger already handled (same event id): not run again',
    );
    return;
  }
  const inFlight = handlingIn(ctx);
  inFlight.add(runId);
  try {
    await startTriggered(ctx, def, t, event, runId);
  } finally {
    inFlight.delete(runId);
  }
}

async function startTriggered(
  ctx: SchedulerContext,
  def: JobDefinition,
  t: JobTrigger,
  event: CloudEvent<JobTrigger>,
  runId: string,
): Promise<void> {
  const job = def.name;
  const requestedAt = Date.parse(event.time) || ctx.clock.now();
  const state = ctx.jobStates.get(job);
  const occupier = await confirmedOccupier(ctx, def.name);
  const active = occupier?.runId;
  const decision =
    active === runId
      ? { action: 'run' as const }
      : decideStart(def, state, active, {
          manual: true,
          force: t.force,
          activeRun: occupier?.record,
          nowMs: ctx.clock.now(),
        });
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
    force: t.force,
  });
}
