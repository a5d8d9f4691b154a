import { type JobDefinition, localDate } from '@vigil/shared';
import { type RunRecord, TERMINAL } from './run-record.js';

export interface Coverage {
  job: string;
  /** Targets with a success today (in the job's zone). */
  covered: number;
  total: number;
  ratio: number | null;
  /** Whether any run of the job finished today: before the first one, less than full coverage is expected. */
  ranToday: boolean;
}

/**
 * Today's coverage of a job: the last full run's successes, plus failed targets that a later subset run
 * (backup or manual `--target`) brought home.
 */
export function todaysCoverage(def: JobDefinition, runs: RunRecord[], nowMs: number): Coverage {
  const today = localDate(nowMs, def.timezone);
  const mine = runs
    .filter(
      (r) =>
        r.job === def.name && TERMINAL.has(r.status) && localDate(Date.parse(r.scheduledAt), def.timezone) === today,
    )
    .sort((a, b) => (a.finishedAt ?? a.updatedAt).localeCompare(b.finishedAt ?? b.updatedAt));
  let total = Array.isArray(def.targets) ? def.targets.length : 0;
  let covered = 0;
  const failed = new Set<string>();
  for (const r of mine) {
    const failures = new Set((r.failures ?? []).map((f) => f.target));
    if (!r.targets) {
      const runTotal = r.stats?.targets ?? total ?? 0;
      total = Math.max(total, runTotal);
      covered = r.stats?.succeeded ?? (r.status === 'succeeded' ? Math.max(runTotal, 1) : 0);
      failed.clear();
      for (const t of failures) failed.add(t);
    } else if (r.status === 'succeeded' || r.status === 'partial') {
      for (const t of r.targets) {
        if (!failures.has(t) && failed.delete(t)) covered++;
      }
    }
  }
  if (total === 0 && covered > 0) total = covered;
  return {
    job: def.name,
    covered: Math.min(covered, total),
    total,
    ratio: total > 0 ? Math.min(covered, total) / total : null,
    ranToday: mine.length > 0,
  };
}

export interface FailureRate {
  job: string;
  runs: number;
  bad: number;
  rate: number | null;
}

const COUNTED = new Set(['succeeded', 'failed', 'partial', 'missed', 'stuck']);
const BAD_OUTCOME = new Set(['failed', 'partial', 'missed', 'stuck']);

/** The job's runs of the last 24 h that count for failure rates (finished, missed or stuck). */
function* countedRuns(job: string, runs: RunRecord[], nowMs: number): Generator<RunRecord> {
  const since = nowMs - 24 * 3_600_000;
  for (const r of runs) if (r.job === job && COUNTED.has(r.status) && Date.parse(r.updatedAt) >= since) yield r;
}

/** Share of runs in the last 24 h that ended failed, partial, missed or stuck. */
export function failureRate(job: string, runs: RunRecord[], nowMs: number): FailureRate {
  let n = 0;
  let bad = 0;
  for (const r of countedRuns(job, runs, nowMs)) {
    n++;
    if (BAD_OUTCOME.has(r.status)) bad++;
  }
  return { job, runs: n, bad, rate: n > 0 ? bad / n : null };
}

/**
 * The job's latest finished run in the last 24 h when it ended badly (nothing has succeeded since): the job is
 * failing right now, as opposed to having failed earlier and been brought home by a re-run or backup.
 */
export function failingNow(job: string, runs: RunRecord[], nowMs: number): RunRecord | undefined {
  let latest: RunRecord | undefined;
  for (const r of countedRuns(job, runs, nowMs)) {
    if (!latest || (r.finishedAt ?? r.updatedAt) > (latest.finishedAt ?? latest.updatedAt)) latest = r;
  }
  return latest && BAD_OUTCOME.has(latest.status) ? latest : undefined;
}
