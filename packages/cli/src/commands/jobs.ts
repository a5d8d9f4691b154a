import {
  JobTriggerSchema,
  MAX_TRIGGER_DELAY_SECONDS,
  newEventId,
  Subjects,
  shellQuote,
  TriggerIdSchema,
} from '@vigil/shared';
import type { CommandContext } from '../context.js';
import { CliError, EXIT, NoAnswerError } from '../errors.js';
import { ms, parseDelay, table, time, timeIn } from '../format.js';
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
  currentNotBefore?: string;
}

export async function jobsCommand(ctx: CommandContext): Promise<void> {
  const body = await ctx.withNats((nc) =>
    requestJson<{ jobs: JobRow[]; jobsFile?: { problem?: string } }>(nc, 'scheduler.jobs'),
  );
  // a rejected edit of the jobs file: the list below is the version still running, not what the file says
  if (body.jobsFile?.problem) ctx.io.err(`vigil: warning: ${body.jobsFile.problem}`);
  ctx.print(body.jobs, () =>
    table(
      ['JOB', 'HANDLER', 'SCHEDULE', 'TZ', 'NEXT RUN', 'LAST', 'LAST SUCCESS', 'STATE'],
      body.jobs.map((j) => [
        j.name,
        j.handler,
        j.schedule ?? (j.every ? `every ${ms(j.every)}` : 'manual'),
        j.timezone,
        timeIn(j.nextRunAt, j.timezone),
        j.lastStatus,
        time(j.lastSuccessAt),
        jobState(j),
      ]),
    ),
  );
}

/** `idle`, `running <id>`, `delayed <id> until <time>` (a delayed run has not started), `paused` (and its run). */
function jobState(j: { paused: boolean; currentRunId?: string; currentNotBefore?: string }): string {
  const run = j.currentRunId
    ? j.currentNotBefore && Date.parse(j.currentNotBefore) > Date.now()
      ? `delayed ${j.currentRunId} until ${time(j.currentNotBefore)}`
      : `running ${j.currentRunId}`
    : undefined;
  if (j.paused) return run ? `paused; ${run}` : 'paused';
  return run ?? 'idle';
}

export interface TriggerOptions {
  target?: string[];
  delay?: string;
  reason?: string;
  force?: boolean;
  requestedBy?: string;
  /** Publish the trigger event to its stream instead of asking the scheduler (which may be down). */
  queue?: boolean;
  /**
   * The run's id (its idempotency key): the id a trigger that got no answer printed, so sending it again, or
   * queueing it, is that same run (it runs once); default a new ULID.
   */
  id?: string;
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
  // the scheduler's own rule (the shared job.trigger schema: bounded reason, requestedBy, targets), so a trigger it
  // would refuse is a usage error here, before anything is sent or queued
  const { job: _job, ...data } = body;
  const invalid = JobTriggerSchema.safeParse(data).error?.issues[0];
  if (invalid) throw new CliError(`${optionOf(invalid.path)}: ${invalid.message}`, EXIT.USAGE);
  if (opts.id !== undefined) {
    const bad = TriggerIdSchema.safeParse(opts.id).error?.issues[0];
    if (bad) throw new CliError(`--id ${JSON.stringify(opts.id)}: ${bad.message}`, EXIT.USAGE);
  }
  // the run's id is chosen here, so a request that gets no answer still says which run it may have started
  const id = opts.id ?? newEventId();
  if (opts.queue) return queueTrigger(ctx, job, id, body);
  const res = await ctx.withNats(async (nc) => {
    try {
      return await requestJson<{ runId: string }>(nc, 'scheduler.trigger', { ...body, id });
    } catch (err) {
      // an answer (a refusal) carries its code and stands; no answer leaves the run's fate open: say so, and how
      // to settle it without a second run
      if (!(err instanceof NoAnswerError)) throw err;
      throw new CliError(noAnswer(err, job, id, opts, ctx.env.command ?? ['vigil']), err.exitCode);
    }
  });
  ctx.print({ runId: res.runId, job }, () => res.runId);
}

/** The option of `vigil trigger` that fills a field of the trigger (`targets.3` -> `--target #4`). */
function optionOf(path: readonly PropertyKey[]): string {
  const [field, index] = path;
  if (field === 'targets') return typeof index === 'number' ? `--target #${index + 1}` : '--target';
  if (field === 'requestedBy') return 'requestedBy (cli:<login name>, from USER)';
  if (field === 'delaySeconds') return '--delay';
  return `--${String(field)}`;
}

/** A command line of this CLI, ready to paste: `<cli words> <args…>`, each word quoted for the shell. */
function command(cli: string[], ...args: string[]): string {
  return [...cli, ...args].map(shellQuote).join(' ');
}

/**
 * The failure of a trigger request that got no answer. A scheduler that got the request may still start the run
 * (frozen, overloaded, the answer lost), so this never says it failed: it names the run's id, how to see whether
 * it started, and the command that queues the same run (same id: it runs once, whichever arrives first).
 */
function noAnswer(why: NoAnswerError, job: string, id: string, opts: TriggerOptions, cli: string[]): string {
  const fate = why.noResponders
    ? `no scheduler got the request: nothing runs unless it is queued (as run ${id}).`
    : `a scheduler may still have it: the run may still start as ${id} (\`${command(cli, 'run', id)}\` shows whether it did).`;
  const again = [...cli, 'trigger', job, '--id', id, '--queue', '--reason', opts.reason ?? ''];
  for (const t of opts.target ?? []) again.push('--target', t);
  if (opts.delay) again.push('--delay', opts.delay);
  if (opts.force) again.push('--force');
  return [
    why.reason,
    fate,
    `\`${command(again)}\` queues this same run for when a scheduler reads it: it runs once either way.`,
  ].join('\n');
}

/**
 * `--queue`: publishes `job.trigger.<job>` to its stream instead of asking the scheduler, so the run is not lost
 * while no scheduler answers; it starts once one reads it. Its runId is the event id, known now (`--id`: the one
 * a request without an answer printed; the scheduler runs an id once). Nothing checks the job until then: a
 * scheduler that does not know it, or finds the trigger invalid (e.g. a target the job lacks), dead-letters it
 * (`vigil dlq list`).
 */
async function queueTrigger(
  ctx: CommandContext,
  job: string,
  runId: string,
  body: Record<string, unknown>,
): Promise<void> {
  const { job: _job, ...data } = body;
  // event id = msg-id = runId: a trigger with this id that reached a scheduler (or was queued) is this same run
  const ack = await ctx.withNats((nc) => publishEvent(nc, Subjects.jobTrigger(job), data, { id: runId }));
  const already = ack.duplicate ? ' (already queued: the same run, not a second one)' : '';
  ctx.print(
    { runId, job, queued: true, ...(ack.duplicate ? { duplicate: true } : {}) },
    () =>
      `${runId}\nqueued as job.trigger.${job}${already}: it runs when a scheduler reads it, once even if a request with this id got through (a job it does not know is dead-lettered)`,
  );
}

export async function pauseCommand(ctx: CommandContext, job: string, paused: boolean, reason?: string): Promise<void> {
  const subject = paused ? 'scheduler.pause' : 'scheduler.resume';
  const res = await ctx.withNats((nc) => requestJson<{ name: string; paused: boolean }>(nc, subject, { job, reason }));
  ctx.print(res, () => `${job} ${res.paused ? 'paused' : 'resumed'}`);
}
