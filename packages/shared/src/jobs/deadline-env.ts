import { durationSchema } from '../config/duration.js';
import type { DeadlineDefaults } from './run-deadlines.js';
import { MAX_JOB_DURATION_MS } from './validate.js';

/** SCHEDULER_START_DEADLINE and SCHEDULER_DEFAULT_TIMEOUT when not set. */
export const DEFAULT_DEADLINES: DeadlineDefaults = { startDeadlineMs: 120_000, timeoutMs: 3_600_000 };

/** A default deadline: positive (0 would report every run at once) and bounded like the jobs file's own. */
const deadlineSchema = (fallbackMs: number) =>
  durationSchema
    .refine((ms) => ms > 0 && ms <= MAX_JOB_DURATION_MS, { error: 'must be a duration above 0 and at most 366d' })
    .default(fallbackMs);

/**
 * The deadlines of jobs that set no `startDeadline` / `timeout`: the scheduler enforces them (job.missed, job.stuck)
 * and the runner's health report judges runs that have no verdict yet by the same ones, so both read these variables.
 */
export const jobDeadlineEnv = {
  /** A run not started this long after its slot is reported as job.missed (jobs may set `startDeadline`). */
  SCHEDULER_START_DEADLINE: deadlineSchema(DEFAULT_DEADLINES.startDeadlineMs),
  /** A run still going this long after it started is reported as job.stuck (jobs may set `timeout`). */
  SCHEDULER_DEFAULT_TIMEOUT: deadlineSchema(DEFAULT_DEADLINES.timeoutMs),
};
