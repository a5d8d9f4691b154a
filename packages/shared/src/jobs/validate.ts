import { Cron } from 'croner';
import { JOB_NAME_PATTERN, HANDLERS, OPTION_KEYS, optionsKeyFor } from './defaults.js';
import type { RawJob } from './schema.js';

/**
 * Upper bound of every duration in a jobs file: far beyond any sensible interval or deadline, and far below where
 * `slot + duration` stops being a valid Date (so a typo such as `every: 200000000d` is an error, not a crash later).
 */
export const MAX_JOB_DURATION_MS = 366 * 86_400_000;

export interface RuleProblem {
  path: (string | number)[];
  message: string;
  atKey?: boolean;
}

export function isValidTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** A cron expression croner accepts with 5 fields (minute first) or 6 (second first); else why not. */
export function cronProblem(pattern: string, timezone: string): string | undefined {
  const fields = pattern.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6)
    return `cron "${pattern}" has ${fields} fields; use 5 (minute first) or 6 (second first)`;
  try {
    new Cron(pattern, { timezone: isValidTimezone(timezone) ? timezone : 'UTC', mode: '5-or-6-parts', paused: true });
    return undefined;
  } catch (err) {
    return `cron "${pattern}" is invalid: ${cronMessage((err as Error).message)}`;
  }
}

/** Croner's field names and ranges; it counts days of the month and months from 0 inside, and says so in its errors. */
const CRON_FIELDS: Record<string, { name: string; range: string; offset: number }> = {
  second: { name: 'second', range: '0-59', offset: 0 },
  minute: { name: 'minute', range: '0-59', offset: 0 },
  hour: { name: 'hour', range: '0-23', offset: 0 },
  day: { name: 'day of month', range: '1-31', offset: 1 },
  month: { name: 'month', range: '1-12', offset: 1 },
  dayOfWeek: { name: 'day of week', range: '0-7, 0 and 7 are Sunday', offset: 0 },
};

/** "CronPattern: Invalid value for month: 12" (for a 13) → "month 13 is out of range (1-12)". */
function cronMessage(message: string): string {
  const m = /Invalid value for (\w+): (-?\d+)/.exec(message);
  const field = m ? CRON_FIELDS[m[1]] : undefined;
  if (!m || !field) return message.replace(/^CronPattern: /, '');
  return `${field.name} ${Number(m[2]) + field.offset} is out of range (${field.range})`;
}

export function jobNameProblem(name: string): string | undefined {
  return JOB_NAME_PATTERN.test(name)
    ? undefined
    : `job name "${name}" must match ${JOB_NAME_PATTERN} (lowercase letters, digits, "-" and "_")`;
}

/**
 * A job to check: its well-shaped fields. A job whose shape is wrong in places is checked with those fields
 * left out (the shape errors are reported on their own), so `handler` may be missing.
 */
export type CheckedJob = Omit<RawJob, 'handler'> & { handler?: string };

/**
 * Rules zod shapes cannot say: one schedule kind, a real cron and zone, the handler and its option block.
 * `given` names the keys written in the file, including ones left out of `job` for a bad shape (a malformed
 * `http:` block is still a block: no "needs an `http` block" on top of its own errors). Defaults to `job`'s keys.
 */
export function jobRuleProblems(
  name: string,
  job: CheckedJob,
  fileTimezone: string,
  given: ReadonlySet<string> = new Set(Object.keys(job).filter((k) => job[k as keyof CheckedJob] !== undefined)),
): RuleProblem[] {
  const at = (...p: (string | number)[]) => ['jobs', name, ...p];
  const out: RuleProblem[] = [];
  const tz = job.timezone ?? fileTimezone;
  if (job.timezone !== undefined && !isValidTimezone(job.timezone)) {
    out.push({
      path: at('timezone'),
      message: `unknown time zone "${job.timezone}" (use an IANA name such as Europe/Berlin)`,
    });
  }
  if (given.has('schedule') && given.has('every')) {
    out.push({ path: at('every'), message: 'give either `schedule` (cron) or `every`, not both' });
  }
  if (job.schedule !== undefined) {
    const problem = cronProblem(job.schedule, tz);
    if (problem) out.push({ path: at('schedule'), message: problem });
  }
  if (job.every !== undefined && (job.every < 1_000 || job.every % 1_000 !== 0)) {
    // slots are named by their epoch second: a sub-second interval would give two slots one name
    out.push({ path: at('every'), message: '`every` must be a whole number of seconds, at least 1s' });
  }
  const handler = job.handler;
  // no usable handler: its own shape error is reported; the handler rules need one
  if (handler !== undefined) {
    const known = (HANDLERS as readonly string[]).includes(handler) || /^module:.+/.test(handler);
    if (!known) {
      out.push({
        path: at('handler'),
        message: `unknown handler "${handler}" (use http | command | module:<path> | report.daily | health.daily)`,
      });
    }
    const own = optionsKeyFor(handler);
    for (const key of OPTION_KEYS) {
      if (key !== own && given.has(key)) {
        out.push({ path: at(key), atKey: true, message: `\`${key}\` options given but the handler is "${handler}"` });
      }
    }
    if (handler === 'http' && !given.has('http'))
      out.push({ path: at('handler'), message: 'handler http needs an `http: { url }` block' });
    if (handler === 'command' && !given.has('command'))
      out.push({ path: at('handler'), message: 'handler command needs a `command: { run }` block' });
  }
  // Every duration is bounded; deadlines must also be positive (0 would fire the moment a run is requested:
  // every run missed, stuck or backed up at once).
  const durations: [value: number | undefined, path: string[], deadline: boolean][] = [
    [job.every, ['every'], false],
    [job.timeout, ['timeout'], true],
    [job.startDeadline, ['startDeadline'], true],
    [job.backup?.after, ['backup', 'after'], true],
    [job.catchUp, ['catchUp'], false],
    [job.retries?.base, ['retries', 'base'], false],
    [job.retries?.cap, ['retries', 'cap'], false],
    [job.http?.timeout, ['http', 'timeout'], false],
    [job.command?.timeout, ['command', 'timeout'], false],
  ];
  for (const [value, path, deadline] of durations) {
    if (value === undefined) continue;
    const label = path.join('.');
    if (deadline && value <= 0) out.push({ path: at(...path), message: `\`${label}\` must be positive` });
    else if (!(value <= MAX_JOB_DURATION_MS))
      out.push({ path: at(...path), message: `\`${label}\` must be at most 366d` });
  }
  return out;
}
