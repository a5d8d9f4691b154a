import type { Alert } from './alert.js';

/**
 * Alertmanager-style grouping, as pure state transitions (the store applies them with compare-and-set):
 * the first alert of a group goes out at once; later ones fold into at most one follow-up per interval,
 * which carries their count and the latest details.
 */
export interface GroupState {
  key: string;
  scope: string;
  job?: string;
  openedAt: number;
  lastSentAt: number;
  /** Every alert seen since the group opened. */
  total: number;
  /** Alerts folded since the last email. */
  pending: number;
  /** What the folded alerts were about (their `items`: secret names), named in the follow-up; bounded. */
  pendingItems?: string[];
  /** When the follow-up of the pending alerts is due. */
  dueAt?: number;
  latest: Alert;
  /** Event whose alert was sent last: its redelivery (after a failed send) is sent again, not folded. */
  sentEventId?: string;
  /** A follow-up claimed and being sent: if it is not confirmed by `until` (the sender died), it is due again. */
  sending?: { count: number; sinceMs: number; until: number; items?: string[] };
}

/** Bound on the names a group keeps for its follow-up (the subject shows the first few, the body all of these). */
export const MAX_PENDING_ITEMS = 50;

function mergeItems(a: string[] | undefined, b: string[] | undefined): string[] | undefined {
  if (!a?.length && !b?.length) return undefined;
  return [...new Set([...(a ?? []), ...(b ?? [])])].slice(0, MAX_PENDING_ITEMS);
}

/** How long a claimed follow-up may take to send before another replica takes it over. */
export const FOLLOW_UP_LEASE_MS = 120_000;

export type GroupDecision = { action: 'send'; next: GroupState } | { action: 'fold'; next: GroupState };

export function decideOnAlert(
  state: GroupState | undefined,
  key: string,
  alert: Alert,
  now: number,
  intervalMs: number,
): GroupDecision {
  if (!state) {
    return {
      action: 'send',
      next: {
        key,
        scope: alert.scope,
        job: alert.job,
        openedAt: now,
        lastSentAt: now,
        total: 1,
        pending: 0,
        latest: alert,
        sentEventId: alert.eventId,
      },
    };
  }
  if (state.sentEventId === alert.eventId) return { action: 'send', next: state };
  // Quiet for a whole interval with nothing waiting: the cap allows an email right now.
  if (state.pending === 0 && now - state.lastSentAt >= intervalMs) {
    return {
      action: 'send',
      next: {
        ...state,
        lastSentAt: now,
        total: state.total + 1,
        dueAt: undefined,
        latest: alert,
        sentEventId: alert.eventId,
      },
    };
  }
  return {
    action: 'fold',
    next: {
      ...state,
      total: state.total + 1,
      pending: state.pending + 1,
      ...withItems(mergeItems(state.pendingItems, alert.items)),
      dueAt: state.dueAt ?? state.lastSentAt + intervalMs,
      latest: alert,
    },
  };
}

function withItems(items: string[] | undefined): { pendingItems?: string[] } {
  return items ? { pendingItems: items } : {};
}

export interface FollowUp {
  count: number;
  /** What the folded alerts were about, when they say (secret names). */
  items?: string[];
  /** When the previous email of the group went out. */
  sinceMs: number;
  alert: Alert;
  next: GroupState;
}

/**
 * The follow-up due now, if any, and the state once it is claimed. A claim left unconfirmed past its lease (the
 * replica died while sending) is due again, with whatever was folded meanwhile: a crash loses no alert.
 */
export function takeFollowUp(state: GroupState, now: number, leaseMs = FOLLOW_UP_LEASE_MS): FollowUp | undefined {
  const orphan = state.sending && state.sending.until <= now ? state.sending : undefined;
  const due = state.pending > 0 && state.dueAt !== undefined && state.dueAt <= now;
  if (!orphan && !due) return undefined;
  const count = state.pending + (orphan?.count ?? 0);
  const sinceMs = orphan?.sinceMs ?? state.lastSentAt;
  const items = mergeItems(orphan?.items, state.pendingItems);
  const { pendingItems: _taken, ...rest } = state;
  return {
    count,
    ...(items ? { items } : {}),
    sinceMs,
    alert: state.latest,
    next: {
      ...rest,
      pending: 0,
      dueAt: undefined,
      lastSentAt: now,
      sending: { count, sinceMs, until: now + leaseMs, ...(items ? { items } : {}) },
    },
  };
}

/** The follow-up went out: its claim is done. */
export function confirmFollowUp(state: GroupState): GroupState {
  const { sending: _sending, ...rest } = state;
  return rest;
}

/** A follow-up that could not be sent goes back into the group, to be tried again later. */
export function restoreFollowUp(state: GroupState, count: number, retryAt: number, items?: string[]): GroupState {
  return {
    ...confirmFollowUp(state),
    pending: state.pending + count,
    ...withItems(mergeItems(items, state.pendingItems)),
    dueAt: Math.min(state.dueAt ?? retryAt, retryAt),
  };
}

/** Alerts of a closed group that were never emailed (folded, or claimed by a follow-up not confirmed yet). */
export function unsentOf(state: GroupState): { count: number; items: string[]; what: string } {
  return {
    count: state.pending + (state.sending?.count ?? 0),
    items: mergeItems(state.sending?.items, state.pendingItems) ?? [],
    // "stale secret served: openai" -> "stale secret served"; "daily-reports failed" stays, and so does
    // "circuit breaker webhooks/https://partner.example opened" (a colon inside a URL is no separator)
    what: state.latest.headline.replace(/: .*$/, ''),
  };
}

/** How many folded alerts' names the resolved email lists per group. */
const MAX_LISTED = 20;

/**
 * The fact a resolved email adds about the groups its recovery closed: what they still held back (never sent, and
 * now never sent as a follow-up), e.g. `2 (1 stale secret served: partner-api-key; 1 secrets refresh failed: openai)`.
 * Undefined when they held nothing back.
 */
export function unsentFact(closed: GroupState[]): [string, string] | undefined {
  const unsent = closed.map(unsentOf).filter((u) => u.count > 0);
  const folded = unsent.reduce((n, u) => n + u.count, 0);
  if (folded === 0) return undefined;
  const parts = unsent.map((u) => {
    const listed = u.items.length > MAX_LISTED ? [...u.items.slice(0, MAX_LISTED), '…'] : u.items;
    return `${u.count} ${u.what}${listed.length ? `: ${listed.join(', ')}` : ''}`;
  });
  return ['Unsent alerts folded before recovery', `${folded} (${parts.join('; ')})`];
}

/**
 * The fact a job's RESOLVED email adds about the groups its recovery closed: how many failure reports of the incident
 * it covers, sent or folded, e.g. `20 (20 ledger-sync missed its start deadline)` — after an outage the scheduler
 * reports every missed slot, and the reader should see that one RESOLVED answers all of them.
 */
export function reportsFact(closed: GroupState[]): [string, string] | undefined {
  const total = closed.reduce((n, s) => n + s.total, 0);
  if (total === 0) return undefined;
  const parts = closed.map((s) => `${s.total} ${unsentOf(s).what}`);
  return ['Reports covered', `${total} (${parts.join('; ')})`];
}

/** Stack traces can be long; the group keeps the latest alert, bounded, in its KV entry. */
export function boundedAlert(alert: Alert, maxStack = 8_000): Alert {
  if (!alert.error?.stack || alert.error.stack.length <= maxStack) return alert;
  return { ...alert, error: { ...alert.error, stack: `${alert.error.stack.slice(0, maxStack)}\n…(truncated)` } };
}
