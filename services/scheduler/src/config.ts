import { baseEnvSchema, booleanSchema, durationSchema, httpPortSchema, MAX_JOB_DURATION_MS } from '@vigil/shared';
import { z } from 'zod';

/** A default deadline: positive (0 would report every run at once) and bounded like the jobs file's own. */
const deadlineSchema = (fallbackMs: number) =>
  durationSchema
    .refine((ms) => ms > 0 && ms <= MAX_JOB_DURATION_MS, { error: 'must be a duration above 0 and at most 366d' })
    .default(fallbackMs);

/** The scheduler's environment (contract §3 plus its own tuning knobs). */
export const schedulerConfigSchema = baseEnvSchema.extend({
  HTTP_PORT: httpPortSchema(8080),
  VIGIL_JOBS_FILE: z.string().min(1).default('./jobs.yaml'),
  /** Unset: mutating HTTP routes answer 503. */
  VIGIL_API_TOKEN: z.string().min(1).optional(),
  /** Reload the jobs file when it changes on disk (SIGHUP always reloads). */
  VIGIL_JOBS_WATCH: booleanSchema(true),
  /** A run not started this long after its slot is reported as job.missed (jobs may set `startDeadline`). */
  SCHEDULER_START_DEADLINE: deadlineSchema(120_000),
  /** A run still going this long after it started is reported as job.stuck (jobs may set `timeout`). */
  SCHEDULER_DEFAULT_TIMEOUT: deadlineSchema(3_600_000),
  /** How long other replicas wait for the one holding a slot before publishing it themselves. */
  SCHEDULER_SLOT_GRACE: durationSchema.default(1_500),
});

export type SchedulerConfig = z.infer<typeof schedulerConfigSchema>;

export function processEnv(): Record<string, string | undefined> {
  return process.env;
}
