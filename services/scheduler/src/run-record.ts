import type { JobRun } from '@vigil/shared';

/** One run's lifecycle as kept in KV `vigil_runs` (key = runId), folded from `job.*` events. */
export interface RunRecord {
  runId: string;
  job: string;
  trigger: JobRun['trigger'];
  status: string;
  attempt: number;
  scheduledAt: string;
  requestedAt?: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  /** Why the run was requested (the trigger's reason, "scheduled", a backup's why). */
  reason?: string;
  /**
   * A watchdog's verdict on it (`missed`, `stuck`): kept apart, so the request's reason stays readable (a run that
   * had none, a slot never requested, takes the verdict as its reason too).
   */
  verdict?: string;
  requestedBy?: string;
  targets?: string[];
  notBefore?: string;
  error?: JobRun['error'];
  stats?: JobRun['stats'];
  failures?: JobRun['failures'];
  /** What the handler said of its run (e.g. the model each target's report used), when small enough to keep here. */
  details?: Record<string, unknown>;
  /** Status changes in arrival order: [{ status, at }]. */
  history: { status: string; at: string }[];
  /**
   * CloudEvent ids of the events folded into this record, oldest first, the newest `FOLDED_IDS_MAX`: an event
   * delivered again (ack-wait ran out while the scheduler was stalled, an ack lost in a reconnect, another replica
   * got the redelivery, a copy stored under another msg-id) is folded once. Records written before it have none.
   */
  eventIds?: string[];
  updatedAt: string;
}

/** A run gets a handful of events (requested, started, an outcome, verdicts, recovered): far fewer than this. */
export const FOLDED_IDS_MAX = 32;

/** Whether the record already holds the event with this CloudEvent id. */
export function hasFolded(rec: RunRecord | undefined, eventId: string | undefined): boolean {
  return eventId !== undefined && rec?.eventIds?.includes(eventId) === true;
}

export const TERMINAL = new Set(['succeeded', 'failed', 'partial', 'cancelled', 'skipped']);
/** Outcomes after which the next success counts as a recovery. */
export const BAD = new Set(['failed', 'partial', 'missed', 'stuck']);
/** A run in these states occupies its job (concurrency forbid/replace). */
export const ACTIVE = new Set(['requested', 'started']);

// Events reach replicas out of order; a later lifecycle stage never gives way to an earlier one.
const RANK: Record<string, number> = {
  requested: 0,
  missed: 1,
  started: 2,
  stuck: 3,
  succeeded: 4,
  failed: 4,
  partial: 4,
  cancelled: 4,
  skipped: 4,
};

/**
 * Folds one event into a run record. `recovered` is informational and leaves the status alone. With `eventId` (the
 * CloudEvent id) the fold is idempotent: an event the record already holds returns `prev` itself, unchanged.
 */
export function applyRunEvent(
  prev: RunRecord | undefined,
  verb: string,
  data: JobRun,
  eventTime: string,
  eventId?: string,
): RunRecord {
  if (prev && hasFolded(prev, eventId)) return prev;
  const base: RunRecord = prev ?? {
    runId: data.runId,
    job: data.job,
    trigger: data.trigger,
    status: verb,
    attempt: data.attempt,
    scheduledAt: data.scheduledAt,
    history: [],
    updatedAt: eventTime,
  };
  const next: RunRecord = {
    ...base,
    history: [...base.history, { status: verb, at: eventTime }],
    updatedAt: eventTime,
  };
  if (eventId !== undefined) next.eventIds = [...(base.eventIds ?? []), eventId].slice(-FOLDED_IDS_MAX);
  if (verb === 'recovered') return next;
  const keepStatus = prev !== undefined && (RANK[verb] ?? 0) < (RANK[prev.status] ?? 0);
  if (!keepStatus) next.status = verb;
  if (verb === 'requested') {
    next.requestedAt = eventTime;
    next.trigger = data.trigger;
    next.scheduledAt = data.scheduledAt;
  }
  next.attempt = Math.max(base.attempt, data.attempt);
  const copy = [
    'startedAt',
    'finishedAt',
    'durationMs',
    'reason',
    'requestedBy',
    'targets',
    'notBefore',
    'error',
    'stats',
    'failures',
    'details',
  ] as const;
  const verdict = verb === 'missed' || verb === 'stuck';
  for (const key of copy) {
    if (verdict && key === 'reason') continue;
    if (data[key] !== undefined && (keepStatus ? next[key] === undefined : true)) {
      (next as unknown as Record<string, unknown>)[key] =
        key === 'details' ? keptDetails(data.details ?? {}) : data[key];
    }
  }
  if (verdict && data.reason !== undefined) {
    next.verdict = data.reason;
    // a slot never requested has no reason of its own: the verdict is its reason (as the API has always said)
    next.reason ??= data.reason;
  }
  if (verb === 'started' && !next.startedAt) next.startedAt = eventTime;
  return next;
}

/** Details beyond this stay in the run's job.* event only: the record sits in KV beside thousands of others. */
const DETAILS_MAX_BYTES = 16_384;

function keptDetails(details: Record<string, unknown>): Record<string, unknown> {
  const bytes = Buffer.byteLength(JSON.stringify(details));
  if (bytes <= DETAILS_MAX_BYTES) return details;
  return { omitted: `${bytes} bytes of details, too many for the run history: see the run's job.* event` };
}

/** Started means: saw job.started, or any outcome that only a started run has. */
export function hasStarted(run: RunRecord): boolean {
  return run.startedAt !== undefined || TERMINAL.has(run.status) || run.status === 'stuck';
}

export function isActive(run: RunRecord): boolean {
  return ACTIVE.has(run.status);
}
