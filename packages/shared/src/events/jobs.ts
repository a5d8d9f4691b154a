import { createHash } from 'node:crypto';
import { z } from 'zod';
import { detailsSchema, ErrorInfoSchema, isoTime } from './common.js';

/**
 * Longest delay of a manual trigger: 6 days. The delayed `job.requested` waits in VIGIL_JOBS (kept 7 days) and
 * its run record in KV (7 days); a longer delay would be dropped silently after the API had answered 202.
 */
export const MAX_TRIGGER_DELAY_SECONDS = 6 * 86_400;

/**
 * Bounds of a trigger's free text. A trigger's `reason`, `requestedBy` and `targets` are copied into its
 * `job.requested` and every later `job.*` event of the run, its run record in KV and the emails about it, so a
 * trigger must stay small beside NATS `max_payload` (1 MB by default; a 500 KB reason accepted once made every event
 * of its run nearly that big). The bounds leave room for what people write there:
 * - `reason`: 1,000 characters, a few sentences (`re-run after the 03:00 outage, see INC-1234`) or a pasted link;
 *   the detail of an incident belongs in the ticket the reason names.
 * - `requestedBy`: 200 characters, an identity (`cli:alice`, an e-mail address, `ci:github/org/repo#run-123`).
 * - `targets`: at most 200 per trigger, each at most 200 characters (a tenant or account id). More targets are a
 *   whole-job run (trigger without `targets`) or several triggers.
 * At the bounds a trigger's text is ~42 KB, far below max_payload even in events that carry more than one copy.
 * The one rule for every way in: the HTTP API and `scheduler.trigger` (400 naming the field and the bound), the CLI
 * (usage error before anything is sent), and a `job.trigger.<job>` event from anyone (dead-lettered).
 */
export const MAX_TRIGGER_REASON_LENGTH = 1_000;
export const MAX_TRIGGER_REQUESTED_BY_LENGTH = 200;
export const MAX_TRIGGER_TARGETS = 200;
export const MAX_TRIGGER_TARGET_LENGTH = 200;

/** A string of at most `max` characters; too long, it says the bound and how long it was. */
const boundedText = (max: number) =>
  z
    .string()
    .min(1)
    .max(max, { error: (iss) => `must be at most ${max} characters (got ${String(iss.input ?? '').length})` });

/** `job.trigger.<job>`: a manual trigger from the API, the CLI or any other system. */
export const JobTriggerSchema = z.looseObject({
  reason: boundedText(MAX_TRIGGER_REASON_LENGTH),
  requestedBy: boundedText(MAX_TRIGGER_REQUESTED_BY_LENGTH).optional(),
  targets: z
    .array(boundedText(MAX_TRIGGER_TARGET_LENGTH))
    .max(MAX_TRIGGER_TARGETS, {
      error: (iss) =>
        `at most ${MAX_TRIGGER_TARGETS} targets per trigger (got ${Array.isArray(iss.input) ? iss.input.length : '?'}); trigger the whole job without targets, or several triggers`,
    })
    .optional(),
  delaySeconds: z
    .number()
    .int()
    .nonnegative()
    .max(MAX_TRIGGER_DELAY_SECONDS, { error: `must be at most ${MAX_TRIGGER_DELAY_SECONDS} (6 days)` })
    .optional(),
  force: z.boolean().optional(),
});
export type JobTrigger = z.infer<typeof JobTriggerSchema>;

/** An event id usable as a runId as it is: a KV key, a `Nats-Msg-Id`, a URL segment, never a slot runId (no dots). */
const SAFE_RUN_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The `id` of a manual trigger request (HTTP body, the CLI's `scheduler.trigger`, `vigil trigger --id`): the
 * idempotency key of the trigger and the runId of its run. Letters, digits, `-` and `_` (a ULID, a UUID...).
 */
export const TriggerIdSchema = z
  .string()
  .regex(SAFE_RUN_ID, { error: 'must be 1 to 128 letters, digits, - or _ (e.g. a ULID)' });

/**
 * A manual trigger request to the scheduler's API: `job.trigger` data plus an optional `id`. A request whose id
 * already names a run (in the history or on its way) is that run again, not a second one: the caller may resend
 * it (after a timeout, or queued with `vigil trigger --queue --id`) without ever running the job twice.
 */
const TRIGGER_REQUEST_SHAPE = { ...JobTriggerSchema.shape, id: TriggerIdSchema.optional() };
/**
 * Strict, unlike the event (which other programs may extend): a typo (`target`, `delay`) would otherwise run the
 * whole job at once instead of the one target or later.
 */
export const TriggerRequestSchema = z.strictObject(TRIGGER_REQUEST_SHAPE, {
  error: (issue) =>
    issue.code === 'unrecognized_keys'
      ? `unknown field${issue.keys.length === 1 ? '' : 's'} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')} (known: ${Object.keys(TRIGGER_REQUEST_SHAPE).join(', ')})`
      : undefined,
});
export type TriggerRequest = z.infer<typeof TriggerRequestSchema>;

/**
 * The runId of the run a `job.trigger` event starts: the event id itself when it is a safe token (ULIDs from the
 * API and CLI, UUIDs), else `t-` plus a hash of it, the same for every delivery of the event (`manual:42`,
 * `run 1`... are no valid KV keys: their run could never be recorded).
 */
export function triggerRunId(eventId: string): string {
  if (SAFE_RUN_ID.test(eventId)) return eventId;
  return `t-${createHash('sha256').update(eventId).digest('hex').slice(0, 40)}`;
}

export const JOB_TRIGGERS = ['schedule', 'manual', 'backup', 'catch-up'] as const;
export type JobTriggerKind = (typeof JOB_TRIGGERS)[number];

/** Every `status` a run can carry; the event verb usually equals it. */
export const JOB_STATUSES = [
  'requested',
  'started',
  'succeeded',
  'failed',
  'partial',
  'missed',
  'stuck',
  'recovered',
  'cancelled',
  'skipped',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** The statuses a run's record can be in: `recovered` is news about the job, never a run's own status. */
export const RUN_STATUSES: readonly JobStatus[] = JOB_STATUSES.filter((s) => s !== 'recovered');

/** The verbs of `job.<verb>.<job>` that carry run data: one per status. */
export const JOB_RUN_EVENTS = JOB_STATUSES;
export type JobRunEvent = (typeof JOB_RUN_EVENTS)[number];

export const TargetFailureSchema = z.looseObject({
  target: z.string(),
  error: z.union([z.string(), ErrorInfoSchema]),
});

export const JobStatsSchema = z.looseObject({
  targets: z.number().int().nonnegative(),
  succeeded: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  skipped: z.number().int().nonnegative(),
});

/** Run data of every `job.*` event except trigger and cancel (contract §4, plus optional extensions). */
export const JobRunSchema = z.looseObject({
  runId: z.string().min(1),
  job: z.string().min(1),
  attempt: z.number().int().nonnegative(),
  trigger: z.enum(JOB_TRIGGERS),
  scheduledAt: isoTime,
  startedAt: isoTime.optional(),
  finishedAt: isoTime.optional(),
  durationMs: z.number().nonnegative().optional(),
  status: z.enum(JOB_STATUSES),
  reason: z.string().optional(),
  requestedBy: z.string().optional(),
  error: ErrorInfoSchema.optional(),
  stats: JobStatsSchema.optional(),
  failures: z.array(TargetFailureSchema).optional(),
  // extensions (not in the contract's minimum; consumers must tolerate their absence)
  /** Targets this run covers (backup runs cover only the uncovered ones). */
  targets: z.array(z.string().min(1)).optional(),
  /** The runner must not start the run before this instant (delayed manual triggers). */
  notBefore: isoTime.optional(),
  /**
   * A forced manual run (`vigil trigger --force`): runners start it even while another run of its `forbid`/`replace`
   * job holds the job (a stuck one), instead of queueing it behind that run.
   */
  force: z.boolean().optional(),
  /** Free-form extras such as `model` or `artifacts`. */
  details: detailsSchema.optional(),
});
export type JobRun = z.infer<typeof JobRunSchema>;

/** The same ISO-8601 rule as `isoTime` (zod's own datetime pattern, offset allowed). */
const ISO_TIME = z.regexes.datetime({ offset: true, local: false, precision: null });
const TRIGGERS: ReadonlySet<unknown> = new Set(JOB_TRIGGERS);
const STATUSES: ReadonlySet<unknown> = new Set(JOB_STATUSES);
const nonEmpty = (v: unknown) => typeof v === 'string' && v.length > 0;
const isTime = (v: unknown) => typeof v === 'string' && ISO_TIME.test(v);
const isCount = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
/** The fields a plain run request may carry for the fast check, each with the JobRunSchema rule it must meet. */
const PLAIN_FIELDS = new Map<string, (v: unknown) => boolean>([
  ['runId', nonEmpty],
  ['job', nonEmpty],
  ['attempt', isCount],
  ['trigger', (v) => TRIGGERS.has(v)],
  ['scheduledAt', isTime],
  ['status', (v) => STATUSES.has(v)],
  ['startedAt', isTime],
  ['finishedAt', isTime],
  ['durationMs', (v) => typeof v === 'number' && v >= 0],
  ['reason', (v) => typeof v === 'string'],
  ['requestedBy', (v) => typeof v === 'string'],
  ['notBefore', isTime],
]);
const REQUIRED = ['runId', 'job', 'attempt', 'trigger', 'scheduledAt', 'status'];

/**
 * Run data checked without zod when it is plainly valid: only the simple fields above, each meeting the same rule
 * as JobRunSchema. Anything else (targets, error, extras, or a field that fails) goes to the schema, which
 * decides and explains. The runner checks every request: zod's parse allocated more than the rest of a run.
 */
export function parseJobRun(value: unknown): ReturnType<typeof JobRunSchema.safeParse> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const data = value as Record<string, unknown>;
    let plain = true;
    for (const key in data) {
      const check = PLAIN_FIELDS.get(key);
      if (!check || (data[key] !== undefined && !check(data[key]))) {
        plain = false;
        break;
      }
    }
    if (plain) for (const key of REQUIRED) if (data[key] === undefined) plain = false;
    if (plain) return { success: true, data: data as JobRun };
  }
  return JobRunSchema.safeParse(value);
}

/** `job.cancel.<job>`: stop a run (used by concurrency `replace`). */
export const JobCancelSchema = z.looseObject({
  runId: z.string().min(1),
  job: z.string().min(1),
  reason: z.string().min(1),
});
export type JobCancel = z.infer<typeof JobCancelSchema>;
