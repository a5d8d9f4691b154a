import { classify, errorMessage, type JobDefinition, type Logger } from '@vigil/shared';
import { planCatchUp } from './catch-up.js';
import { slotRunId } from './run-id.js';
import type { JobSchedule, SlotSpan } from './schedule.js';

/** Missed slots reported one by one after downtime; older ones get one job.missed that names how many. */
export const MAX_LISTED_MISSED = 100;

/** Slots of one job NATS kept from being requested: those after `after`, settled once NATS answers. */
export interface Outage {
  /** When the first failed publish began (clock ms). */
  since: number;
  /** The outage's slots are those after this instant. */
  after: number;
  /** When NATS answered again (clock ms): the end every report of the outage names. */
  until?: number;
  err: unknown;
  /** The settlement, made once NATS answered; a retry goes on from `done` with the same facts. */
  plan?: { slot: number; kind: 'schedule' | 'catch-up' | 'missed'; reason?: string }[];
  done: number;
}

export interface OutagePlanDeps {
  /** Whether the slot's request is in the run history (NATS stored it after all). */
  stored: (slot: number) => boolean;
  log: Logger;
}

/** What settles the outage's slots up to `until`, in order: reports first, the one run last. */
export function planOutage(
  def: JobDefinition,
  schedule: JobSchedule,
  deadlineMs: number,
  o: Outage,
  until: number,
  d: OutagePlanDeps,
): NonNullable<Outage['plan']> {
  const steps: NonNullable<Outage['plan']> = [];
  // a slot whose request NATS stored after all (sent as the broker froze, or kept by nats.js while it
  // reconnected) is in the run history: it only gets its bookkeeping, outside the plan
  const { stored } = d;
  let after = o.after;
  for (let n = schedule.next(after); n !== undefined && n < until && stored(n); n = schedule.next(after)) {
    steps.push({ slot: n, kind: 'missed' });
    after = n;
  }
  const span = schedule.span(after, until - 1, MAX_LISTED_MISSED);
  const { older } = span;
  for (const slot of span.slots) if (stored(slot)) steps.push({ slot, kind: 'missed' });
  const slots = span.slots.filter((slot) => !stored(slot));
  if (slots.length === 0) return steps;
  const plan = planCatchUp(slots, until, def.catchUp, deadlineMs);
  const iso = (ms: number) => new Date(ms).toISOString();
  const code = (o.err as { code?: unknown } | undefined)?.code;
  const secs = Math.round((until - o.since) / 1000);
  const took = secs < 120 ? `${secs} s` : `${Math.floor(secs / 60)} min${secs % 60 ? ` ${secs % 60} s` : ''}`;
  const window = `from ${iso(o.since)} until ${iso(until)} (${took})`;
  const outage =
    classify(o.err) === 'transient' || code === 'DISCONNECT'
      ? `NATS was unavailable ${window}`
      : `publishing failed ${window} (${errorMessage(o.err)})`;
  const total = slots.length + (older?.count ?? 0);
  d.log.warn(
    { job: def.name, missed: total - (plan.run === undefined ? 0 : 1), catchUp: plan.run !== undefined },
    `slots not requested: ${outage}`,
  );
  const deadline = `${Math.round(deadlineMs / 1000)}s`;
  const notRequested = (slot: number) =>
    until - slot >= deadlineMs
      ? `could not be requested before its start deadline (${deadline})`
      : 'could not be requested';
  if (older) {
    const reason = olderSlotsReason(`${notRequested(older.first)}: ${outage}`, older, span.slots);
    steps.push({ slot: older.first, kind: 'missed', reason });
  }
  for (const { slot } of plan.missed) {
    const instead =
      plan.run !== undefined && (until - slot <= (def.catchUp ?? 0) || until - slot < deadlineMs)
        ? '; a newer slot runs as catch-up instead'
        : '';
    steps.push({ slot, kind: 'missed', reason: `${notRequested(slot)}: ${outage}${instead}` });
    d.log.warn(
      { job: def.name, runId: slotRunId(def.name, slot), slot: iso(slot) },
      'slot reported missed: it could not be requested before its start deadline',
    );
  }
  if (plan.run === undefined) return steps;
  if (total === 1 && until - plan.run < deadlineMs) {
    // alone and still on time: the slot's own request, late by the outage
    steps.push({ slot: plan.run, kind: 'schedule' });
  } else {
    const others = total > 1 ? `; ${total - 1} other slots of the outage reported missed` : '';
    steps.push({ slot: plan.run, kind: 'catch-up', reason: `not requested at its slot: ${outage}${others}` });
    d.log.warn(
      { job: def.name, runId: slotRunId(def.name, plan.run), slot: iso(plan.run) },
      'slot that could not be requested in time runs as catch-up',
    );
  }
  return steps;
}

/**
 * The one `job.missed` (on the oldest of them) for the slots of a span older than the newest MAX_LISTED_MISSED it
 * reports one by one: how many, and from when to when, after `cause`.
 */
export function olderSlotsReason(cause: string, older: NonNullable<SlotSpan['older']>, listed: number[]): string {
  const iso = (ms: number) => new Date(ms).toISOString();
  const range = older.exact
    ? `from ${iso(older.first)} to ${iso(older.last ?? older.first)}`
    : `from ${iso(older.first)} to before ${iso(listed[0])}`;
  return (
    `${cause}; ${older.exact ? '' : 'about '}${older.count} older slots ${range} were not run ` +
    `(not reported one by one: only the newest ${listed.length} are)`
  );
}
