// The jobs file (contract §5): schema, parser with line-numbered errors, loader. Shared by scheduler, runner, notifier.
export type { JobsFile, JobDefinition, JobRetries, JobTargets, JobConcurrency, JobsFileProblem } from './types.js';
export { type ParseJobsOptions, parseJobsFile } from './parse.js';
export { loadJobsFile } from './load.js';
export { DEFAULT_RETRIES, DEFAULT_TIMEZONE, JOB_NAME_PATTERN, optionsKeyFor } from './defaults.js';
export { cronProblem, isValidTimezone, MAX_JOB_DURATION_MS } from './validate.js';
export {
  type FileWatch,
  JobsFileState,
  type JobsFileStatus,
  jobsFileErrors,
  jobsFileProblem,
  watchFile,
} from './watch.js';
export { DEFAULT_DEADLINES, jobDeadlineEnv } from './deadline-env.js';
export {
  type DeadlineDefaults,
  type DeadlineRun,
  isOverdue,
  type StartDeadlines,
  startDeadlines,
} from './run-deadlines.js';
export { shellQuote } from './shell-quote.js';
