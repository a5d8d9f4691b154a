import type { Clock, EventBus, JobDefinition, JobsFile, JobsFileStatus, VigilMetrics } from '@vigil/shared';
import type { KV } from 'nats';
import type { Logger } from '@vigil/shared';
import type { JobState } from './job-state.js';
import type { LiveMap } from './live-map.js';
import type { RunRecord } from './run-record.js';

export const BUCKETS = { runs: 'vigil_runs', jobs: 'vigil_jobs', slots: 'vigil_slots' } as const;

/** What the scheduler's parts share: time, the bus, the KV buckets and their live copies, the jobs file. */
export interface SchedulerContext {
  clock: Clock;
  log: Logger;
  bus: EventBus;
  instance: string;
  metrics?: VigilMetrics;
  kv: { runs: KV; jobs: KV; slots: KV };
  runs: LiveMap<RunRecord>;
  jobStates: LiveMap<JobState>;
  jobs(): JobsFile;
  /** Where the jobs file stands (the version in use; a rejected edit on disk); absent in unit tests. */
  jobsFile?(): JobsFileStatus;
  job(name: string): JobDefinition | undefined;
  /** The run occupying a job for concurrency purposes (forbid/replace), if any. */
  occupyingRun(job: string, exclude?: ReadonlySet<string>): string | undefined;
  /** Defaults applied when a job leaves them unset. */
  defaults: { startDeadlineMs: number; timeoutMs: number; slotGraceMs: number };
}
