/** The validated jobs file: what the scheduler, the runner and the notifier read. Durations are in ms. */
export interface JobsFile {
  timezone: string;
  jobs: Record<string, JobDefinition>;
}

export type JobConcurrency = 'forbid' | 'allow' | 'replace';
export type JobTargets = string[] | { secret: string };

export interface JobRetries {
  /** Retries after the first attempt (0 = run once). */
  max: number;
  backoff: 'exponential' | 'fixed';
  /** First delay in ms. */
  base: number;
  /** Upper bound of one delay in ms (written `max: 5m` or `cap: 5m` in the file). */
  cap: number;
}

export interface JobDefinition {
  name: string;
  description?: string;
  /** Cron, 5 fields or 6 (seconds first). */
  schedule?: string;
  /** Fixed interval in ms, aligned to the Unix epoch so every replica computes the same slots. */
  every?: number;
  /** IANA zone, the job's own or the file's. */
  timezone: string;
  /** http | command | module:<path> | report.daily | health.daily */
  handler: string;
  targets?: JobTargets;
  timeout?: number;
  startDeadline?: number;
  backup?: { after: number };
  retries: JobRetries;
  concurrency: JobConcurrency;
  catchUp?: number;
  alerts?: { recipients?: string[]; secret?: string };
  /** The block named like the handler (`http`, `command`, `report`, `health`, `module`); `{}` when absent. */
  options: Record<string, unknown>;
}

/** One problem in a jobs file, with where it is. */
export interface JobsFileProblem {
  line: number;
  column: number;
  path: string;
  message: string;
}
