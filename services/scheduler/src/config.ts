import { baseEnvSchema, booleanSchema, durationSchema, httpPortSchema, jobDeadlineEnv } from '@vigil/shared';
import { z } from 'zod';

/** The scheduler's environment (contract §3 plus its own tuning knobs). */
export const schedulerConfigSchema = baseEnvSchema.extend({
  HTTP_PORT: httpPortSchema(8080),
  VIGIL_JOBS_FILE: z.string().min(1).default('./jobs.yaml'),
  /** Unset: mutating HTTP routes answer 503. */
  VIGIL_API_TOKEN: z.string().min(1).optional(),
  /** Reload the jobs file when it changes on disk (SIGHUP always reloads). */
  VIGIL_JOBS_WATCH: booleanSchema(true),
  /** SCHEDULER_START_DEADLINE, SCHEDULER_DEFAULT_TIMEOUT: defaults of jobs that set no deadline. */
  ...jobDeadlineEnv,
  /** How long other replicas wait for the one holding a slot before publishing it themselves. */
  SCHEDULER_SLOT_GRACE: durationSchema.default(1_500),
});

export type SchedulerConfig = z.infer<typeof schedulerConfigSchema>;

export function processEnv(): Record<string, string | undefined> {
  return process.env;
}
