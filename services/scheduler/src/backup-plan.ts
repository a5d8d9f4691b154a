import type { RunRecord } from './run-record.js';

export type BackupPlan =
  | { kind: 'none'; why: string }
  /** `targets` undefined = every target of the job. */
  | { kind: 'rerun'; targets?: string[]; why: string };

/** What the job's other runs since the slot brought home: the targets they ran with success. */
interface CoveredSince {
  /** A run of every target succeeded (no `targets` subset, or its targets are all the job has). */
  all: boolean;
  targets: Set<string>;
  runIds: Set<string>;
}

/**
 * Targets that runs of the job other than `run`, requested at or after its slot, ran with success: a manual
 * `vigil trigger --target initech` (or any other run) that succeeded covers those targets for the slot as well.
 * A `partial` run counts only for the targets it ran that are not among its listed failures (none when it did
 * not list them).
 */
export function coveredSince(
  run: RunRecord,
  others: Iterable<RunRecord>,
  jobTargets?: readonly string[],
): CoveredSince {
  const slot = Date.parse(run.scheduledAt);
  const covered: CoveredSince = { all: false, targets: new Set(), runIds: new Set() };
  for (const r of others) {
    if (r.job !== run.job || r.runId === run.runId) continue;
    if (r.status !== 'succeeded' && r.status !== 'partial') continue;
    const from = Date.parse(r.requestedAt ?? r.startedAt ?? r.scheduledAt);
    if (!(from >= slot)) continue;
    const ran = r.targets ?? jobTargets;
    const failures = new Set((r.failures ?? []).map((f) => f.target));
    if (r.status === 'partial' && failures.size === 0) continue;
    if (!ran) {
      // every target (from a secret: unknown names) of a full run that succeeded
      if (r.status === 'succeeded') {
        covered.all = true;
        covered.runIds.add(r.runId);
      }
      continue;
    }
    let any = false;
    for (const t of ran) {
      if (failures.has(t)) continue;
      covered.targets.add(t);
      any = true;
    }
    if (any) covered.runIds.add(r.runId);
  }
  if (jobTargets && jobTargets.length > 0 && jobTargets.every((t) => covered.targets.has(t))) covered.all = true;
  return covered;
}

/**
 * What a backup run covers: only the targets of the original run without a success by `backup.after`, less
 * those another run of the job brought home since the slot (`others`: e.g. a manual re-run with `--target`).
 * A run still in progress is left alone (its own watchdogs speak for it), and so is a run that was requested and
 * never started, missed or not: its request is still queued, and a runner that comes back runs it; a backup
 * requested now would run the same targets a second time, next to it. Its end re-arms this check.
 */
export function planBackup(
  run: RunRecord | undefined,
  others: Iterable<RunRecord> = [],
  jobTargets?: readonly string[],
): BackupPlan {
  if (!run) return { kind: 'rerun', why: 'no record of the run: nothing is known to have succeeded' };
  let plan: BackupPlan;
  switch (run.status) {
    case 'succeeded':
    case 'cancelled':
    case 'skipped':
      return { kind: 'none', why: `run ${run.status}` };
    case 'requested':
    case 'started':
      return { kind: 'none', why: 'run still in progress' };
    default: {
      if (run.status === 'missed' && run.requestedAt !== undefined && run.startedAt === undefined)
        return {
          kind: 'none',
          why: 'run missed its start deadline but is still queued (requested, never started): a runner that comes back runs it',
        };
      const failed = (run.failures ?? []).map((f) => f.target);
      if (failed.length > 0)
        plan = { kind: 'rerun', targets: [...new Set(failed)], why: `${failed.length} target(s) without success` };
      else if (run.status === 'partial' && run.stats && run.stats.failed === 0 && !run.stats.skipped)
        return { kind: 'none', why: 'partial run reported no failed target' };
      else if (run.status === 'partial' && run.stats?.skipped)
        // "partial" without per-target outcomes: nobody knows which targets were left out, so all are covered again
        plan = { kind: 'rerun', targets: run.targets, why: 'partial run did not say which targets failed' };
      else plan = { kind: 'rerun', targets: run.targets, why: `run ${run.status}: no target known to have succeeded` };
    }
  }
  return lessCovered(plan, coveredSince(run, others, jobTargets), jobTargets);
}

/** The plan without the targets other runs since the slot brought home. */
function lessCovered(plan: BackupPlan, covered: CoveredSince, jobTargets?: readonly string[]): BackupPlan {
  if (plan.kind === 'none' || covered.runIds.size === 0) return plan;
  const by = [...covered.runIds].join(', ');
  if (covered.all) return { kind: 'none', why: `every target succeeded since the slot (run ${by})` };
  const wanted = plan.targets ?? jobTargets;
  // every target of a job whose targets are not known here (from a secret): only a full success covers them
  if (!wanted) return plan;
  const left = wanted.filter((t) => !covered.targets.has(t));
  if (left.length === wanted.length) return plan;
  if (left.length === 0)
    return { kind: 'none', why: `target(s) ${wanted.join(', ')} succeeded since the slot (run ${by})` };
  return {
    kind: 'rerun',
    targets: left,
    why: `${left.length} target(s) without success (${wanted.length - left.length} brought home since by run ${by})`,
  };
}
