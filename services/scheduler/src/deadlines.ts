import { type DeadlineDefaults, type JobDefinition, type StartDeadlines, startDeadlines } from '@vigil/shared';
import type { RunRecord } from './run-record.js';

export interface RunDeadlines extends StartDeadlines {
  /**
   * No success by then -> a backup run for the uncovered targets (scheduled and catch-up runs that were
   * requested; a slot that catch-up reported missed was never requested and gets no backup of its own).
   */
  backupAt?: number;
}

/** The run's deadlines (shared `startDeadlines`) and, for scheduled runs of jobs with `backup`, its backup time. */
export function runDeadlines(run: RunRecord, def: JobDefinition | undefined, defaults: DeadlineDefaults): RunDeadlines {
  const backupAt =
    def?.backup && run.requestedAt !== undefined && (run.trigger === 'schedule' || run.trigger === 'catch-up')
      ? Date.parse(run.scheduledAt) + def.backup.after
      : undefined;
  return { ...startDeadlines(run, def, defaults), backupAt };
}
