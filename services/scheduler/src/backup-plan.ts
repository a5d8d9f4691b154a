import type { RunRecord } from './run-record.js';

export type BackupPlan =
  | { kind: 'none'; why: string }
  /** `targets` undefined = every target of the job. */
  | { kind: 'rerun'; targets?: string[]; why: string };

/**
 * What a backup run covers: only the targets of the original run without a success by `backup.after`.
 * A run still in progress is left alone (its own watchdogs speak for it).
 */
export function planBackup(run: RunRecord | undefined): BackupPlan {
  if (!run) return { kind: 'rerun', why: 'no record of the run: nothing is known to have succeeded' };
  switch (run.status) {
    case 'succeeded':
    case 'cancelled':
    case 'skipped':
      return { kind: 'none', why: `run ${run.status}` };
    case 'requested':
    case 'started':
      return { kind: 'none', why: 'run still in progress' };
    default: {
      const failed = (run.failures ?? []).map((f) => f.target);
      if (failed.length > 0)
        return { kind: 'rerun', targets: [...new Set(failed)], why: `${failed.length} target(s) without success` };
      if (run.status === 'partial' && run.stats && run.stats.failed === 0 && !run.stats.skipped)
        return { kind: 'none', why: 'partial run reported no failed target' };
      if (run.status === 'partial' && run.stats?.skipped)
        // "partial" without per-target outcomes: nobody knows which targets were left out, so all are covered again
        return { kind: 'rerun', targets: run.targets, why: 'partial run did not say which targets failed' };
      return { kind: 'rerun', targets: run.targets, why: `run ${run.status}: no target known to have succeeded` };
    }
  }
}
