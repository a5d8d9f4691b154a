import { MAX_TRIGGER_DELAY_SECONDS, newEventId, Subjects } from '@vigil/shared';
import type { CommandContext } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { ms, parseDelay, table, time } from '../format.js';
import { publishEvent, requestJson } from '../nats-client.js';

interface JobRow {
  name: string;
  handler: string;
  schedule?: string;
  every?: number;
  timezone: string;
  paused: boolean;
  nextRunAt?: string;
  lastStatus?: string;
  lastSuccessAt?: string;
  currentRunId?: string;
}

export async function jobsCommand(ctx: CommandContext): Promise<void> {
  const body = await ctx.withNats((nc) => requestJson<{ jobs: JobRow[] }>(nc, 'scheduler.jobs'));
  ctx.print(body.jobs, () =>
    table(
      ['JOB', 'HANDLER', 'SCHEDULE', 'TZ', 'NEXT RUN', 'LAST', 'LAST SUCCESS', 'STATE'],
      body.jobs.map((j) => [
        j.name,
        j.handler,
        j.schedule ?? (j.every ? `every ${ms(j.every)}` : 'manual'),
        j.timezone,
        time(j.nextRunAt),
        j.lastStatus,
        time(j.lastSuccessAt),
        j.paused ? 'paused' : j.currentRunId ? `running ${j.currentRunId}` : 'idle',
      ]),
    ),
  );
}

export interface TriggerOptions {
  target?: string[];
  delay?: string;
  reason?: string;
  force?: boolean;
  requestedBy?: string;
  /** Publish the trigger event to its stream instead of asking the scheduler (which may be down). */
  queue?: boolean;
}

/** `vigil trigger <job> [--target T]… [--delay 10m] --reason "…" [--force]`: prints the runId. */
export async function triggerCommand(ctx: CommandContext, job: string, opts: TriggerOptions): Promise<void> {
  if (!opts.reason?.trim()) throw new CliError('--reason is required: say why this run is needed', EXIT.USAGE);
  const body: Record<string, unknown> = {
    job,
    reason: opts.reason,
    requestedBy: opts.requestedBy ?? `cli:${ctx.env.userName}`,
  };
  if (opts.target && opts.target.length > 0) body.targets = opts.target;
  if (opts.delay) {
    const seconds = parseDelay(opts.delay);
    if (seconds === undefined)
      throw new CliError(
        `--delay "${opts.delay}" is not a duration (e.g. 90s, 10m, 1h30m, or a number of seconds)`,
        EXIT.USAGE,
      );
    if (seconds > MAX_TRIGGER_DELAY_SECONDS)
      throw new CliError(
        `--delay ${opts.delay} is too long: at most ${MAX_TRIGGER_DELAY_SECONDS / 86_400}d`,
        EXIT.USAGE,
      );
    body.delaySeconds = seconds;
  }
  if (opts.force) body.force = true;
  if (opts.queue) return queueTrigger(ctx, job, body);
  const res = await ctx.withNats((nc) => requestJson<{ runId: string }>(nc, 'scheduler.trigger', body));
  ctx.print({ runId: res.runId, job }, () => res.runId);
}

/**
 * `--queue`: publishes `job.trigger.<job>` to its stream instead of asking the scheduler, so the run is not lost
 * while no scheduler answers; it starts once one reads it. Its runId is the event id, known now. Nothing checks the
 * job name until then: a scheduler that does not know it dead-letters the trigger (`vigil dlq list`).
 */
async function queueTrigger(ctx: CommandContext, job: string, body: Record<string, unknown>): Promise<void> {
  const { job: _job, ...data } = body;
  const runId = newEventId();
  await ctx.withNats((nc) => publishEvent(nc, Subjects.jobTrigger(job), data, { id: runId }));
  ctx.print(
    { runId, job, queued: true },
    () =>
      `${runId}\nqueued as job.trigger.${job}: it runs when a scheduler reads it (a job it does not know is dead-lettered)`,
  );
}

export async function pauseCommand(ctx: CommandContext, job: string, paused: boolean, reason?: string): Promise<void> {
  const subject = paused ? 'scheduler.pause' : 'scheduler.resume';
  const res = await ctx.withNats((nc) => requestJson<{ name: string; paused: boolean }>(nc, subject, { job, reason }));
  ctx.print(res, () => `${job} ${res.paused ? 'paused' : 'resumed'}`);
}
