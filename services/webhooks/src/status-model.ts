/** Where a webhook stands. `failed` = the last attempt failed and another is scheduled; `dead` = given up. */
export type WebhookState = 'pending' | 'delivered' | 'failed' | 'dead';

export const DELIVERED_TTL_SECONDS = 30 * 60;
export const RETAINED_TTL_SECONDS = 7 * 24 * 60 * 60;

export const statusKey = (id: string): string => `vigil:webhook:${id}`;
/**
 * Id-only marker of a delivered webhook, kept as long as the stream keeps commands (7 days), so a repeated id is
 * never sent again after the 30-minute status hash is gone. Outside STATUS_KEY_PREFIX: cleanup never scans it.
 */
export const deliveredKey = (id: string): string => `vigil:webhook-delivered:${id}`;
export const DELIVERED_MARKER_TTL_SECONDS = RETAINED_TTL_SECONDS;
export const STATUS_KEY_PREFIX = 'vigil:webhook:';
export const INDEX_KEY = 'vigil:webhooks:index';

/** Seed 004: successes are kept 30 minutes, everything an operator may still need for 7 days. */
export function ttlSecondsFor(state: WebhookState): number {
  return state === 'delivered' ? DELIVERED_TTL_SECONDS : RETAINED_TTL_SECONDS;
}

export interface WebhookStatus {
  id: string;
  status: WebhookState;
  url?: string;
  eventType?: string;
  attempts: number;
  lastStatusCode?: number;
  lastError?: string;
  createdAt?: string;
  firstAttemptAt?: string;
  lastAttemptAt?: string;
  nextAttemptAt?: string;
  /** Waiting parked since then for the destination's breaker (`waitingFor` says which); until its next attempt. */
  parkedAt?: string;
  waitingFor?: string;
  deliveredAt?: string;
  deadAt?: string;
  /** Duration of the last HTTP attempt. */
  lastDurationMs?: number;
  /** From creation to delivery. */
  totalMs?: number;
}

const STATES = new Set<string>(['pending', 'delivered', 'failed', 'dead']);
const iso = (ms: string | undefined) => (ms ? new Date(Number(ms)).toISOString() : undefined);
const num = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));

/** The Redis hash (all strings, times in epoch ms) as the API shows it; undefined for a malformed hash. */
export function fromHash(id: string, h: Record<string, string>): WebhookStatus | undefined {
  if (!h.status || !STATES.has(h.status)) return undefined;
  // parked after its last attempt and still waiting: the breaker, not the backoff, decides when it goes next
  const parked =
    (h.status === 'pending' || h.status === 'failed') &&
    h.parkedAt !== undefined &&
    Number(h.parkedAt) >= (num(h.lastAttemptAt) ?? 0);
  const status: WebhookStatus = {
    id,
    status: h.status as WebhookState,
    url: h.url,
    eventType: h.eventType,
    attempts: num(h.attempts) ?? 0,
    lastStatusCode: num(h.lastStatusCode),
    lastError: h.lastError || undefined,
    createdAt: iso(h.createdAt),
    firstAttemptAt: iso(h.firstAttemptAt),
    lastAttemptAt: iso(h.lastAttemptAt),
    nextAttemptAt: h.status === 'failed' && !parked ? iso(h.nextAttemptAt) : undefined,
    parkedAt: parked ? iso(h.parkedAt) : undefined,
    waitingFor: parked ? h.parkedFor : undefined,
    deliveredAt: iso(h.deliveredAt),
    deadAt: iso(h.deadAt),
    lastDurationMs: num(h.lastDurationMs),
    totalMs: h.deliveredAt && h.createdAt ? Number(h.deliveredAt) - Number(h.createdAt) : undefined,
  };
  return Object.fromEntries(Object.entries(status).filter(([, v]) => v !== undefined)) as unknown as WebhookStatus;
}

export type CleanupAction =
  | { kind: 'keep' }
  | { kind: 'delete'; why: 'malformed' | 'expired' }
  | { kind: 'expire'; seconds: number };

/**
 * What cleanup does with one status hash. Keys that lost their TTL (a crash between writes, a manual edit)
 * would live forever: they get the TTL they should have had, or go when that time has passed.
 */
export function cleanupAction(h: Record<string, string>, ttlSeconds: number, nowMs: number): CleanupAction {
  if (!h.status || !STATES.has(h.status)) return { kind: 'delete', why: 'malformed' };
  if (ttlSeconds >= 0) return { kind: 'keep' };
  const state = h.status as WebhookState;
  const since = Number(
    (state === 'delivered' ? h.deliveredAt : undefined) ?? h.updatedAt ?? h.lastAttemptAt ?? h.createdAt ?? 0,
  );
  const remaining = Math.floor((since + ttlSecondsFor(state) * 1000 - nowMs) / 1000);
  return remaining > 0 ? { kind: 'expire', seconds: remaining } : { kind: 'delete', why: 'expired' };
}
