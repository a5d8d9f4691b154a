import type { Alert, Severity } from './alert.js';
import { formatDuration, formatTime } from './render-email.js';

/**
 * The digest of alerts that were already older than ALERT_MAX_AGE when the notifier first saw them (it was down,
 * or far behind). Emailing each one would flood people with day-old failures; dropping them would mean failures
 * nobody heard about (seed 000). So each is recorded here (KV `vigil_alert_groups`, key `EXPIRED_DIGEST_KEY`, CAS)
 * before its event is acked, and once the backlog is drained they go out as ONE email listing them.
 * Pure transitions, like grouping.ts; follow-ups.ts times and sends the digest, with the same claim/lease rules.
 */

/** Its KV key: `=` never occurs in a group key (base64url parts), so no group collides with it. */
export const EXPIRED_DIGEST_KEY = 'expired=digest';
/** How many folded alerts the digest lists; the rest are counted ("… and 12 more"). */
export const MAX_DIGEST_LINES = 50;
/** The digest goes out once no old alert was folded for this long: the backlog is drained. */
export const DIGEST_QUIET_MS = 10_000;
/** …or this long after the first alert of the digest at the latest, while old alerts keep coming. */
export const DIGEST_MAX_WAIT_MS = 300_000;
/** How long a claimed digest may take to send before another replica takes it over (as a group's follow-up). */
export const DIGEST_LEASE_MS = 120_000;

export interface DigestLine {
  eventId: string;
  /** When the alerted thing happened (ms). */
  at: number;
  severity: Severity;
  resolved?: boolean;
  headline: string;
  job?: string;
  runId?: string;
}

export interface DigestBatch {
  /** Alerts folded (listed or not). */
  count: number;
  bySeverity: Partial<Record<Severity, number>>;
  /** At most MAX_DIGEST_LINES: the most severe first, then the oldest. */
  lines: DigestLine[];
  /** When the folded alerts happened: the oldest and the newest (ms). */
  oldestAt: number;
  newestAt: number;
  /** When the first of them was folded. */
  since: number;
}

export interface ExpiredDigestState {
  /** Folded, not claimed yet. */
  pending?: DigestBatch;
  /** When the pending digest is due. */
  dueAt?: number;
  /** Claimed and being sent: if not confirmed by `until` (the sender died), it is due again. */
  sending?: DigestBatch & { until: number };
}

const RANK: Record<Severity, number> = { CRITICAL: 0, WARNING: 1, INFO: 2 };
const SEVERITIES: Severity[] = ['CRITICAL', 'WARNING', 'INFO'];

const clip = (s: string, n: number) => {
  const flat = s.replace(/[\r\n\t]+/g, ' ').trim();
  return flat.length > n ? `${flat.slice(0, n - 1)}…` : flat;
};

/** What the digest keeps of one alert (its line). */
export function digestLineOf(alert: Alert): DigestLine {
  const at = Date.parse(alert.occurredAt);
  return {
    eventId: alert.eventId,
    at: Number.isFinite(at) ? at : 0,
    severity: alert.severity,
    ...(alert.resolved ? { resolved: true } : {}),
    headline: clip(alert.headline, 160),
    ...(alert.job ? { job: alert.job } : {}),
    ...(alert.run?.runId ? { runId: alert.run.runId } : {}),
  };
}

function byImportance(a: DigestLine, b: DigestLine): number {
  return RANK[a.severity] - RANK[b.severity] || a.at - b.at || a.eventId.localeCompare(b.eventId);
}

function mergeBatches(a: DigestBatch | undefined, b: DigestBatch | undefined): DigestBatch | undefined {
  if (!a) return b;
  if (!b) return a;
  const bySeverity: Partial<Record<Severity, number>> = {};
  for (const s of SEVERITIES) {
    const n = (a.bySeverity[s] ?? 0) + (b.bySeverity[s] ?? 0);
    if (n) bySeverity[s] = n;
  }
  const unique = new Map<string, DigestLine>();
  for (const l of [...a.lines, ...b.lines]) if (!unique.has(l.eventId)) unique.set(l.eventId, l);
  const lines = [...unique.values()].sort(byImportance).slice(0, MAX_DIGEST_LINES);
  return {
    count: a.count + b.count,
    bySeverity,
    lines,
    oldestAt: Math.min(a.oldestAt, b.oldestAt),
    newestAt: Math.max(a.newestAt, b.newestAt),
    since: Math.min(a.since, b.since),
  };
}

function batchOf(line: DigestLine, now: number): DigestBatch {
  return {
    count: 1,
    bySeverity: { [line.severity]: 1 },
    lines: [line],
    oldestAt: line.at,
    newestAt: line.at,
    since: now,
  };
}

export interface DigestTiming {
  quietMs: number;
  maxWaitMs: number;
}

export interface FoldResult {
  /** Undefined when every line was already folded (nothing to write). */
  next?: ExpiredDigestState;
  /** When the digest is due (undefined only when nothing is pending). */
  dueAt?: number;
  /** Event ids already listed in the digest: a redelivery after a crash between recording and ack, not counted twice. */
  duplicates: string[];
}

/**
 * Old alerts into the digest. It is due `quietMs` after the latest fold (the backlog is drained), at most
 * `maxWaitMs` after the first one.
 */
export function foldExpired(
  state: ExpiredDigestState | undefined,
  lines: DigestLine[],
  now: number,
  timing: DigestTiming,
): FoldResult {
  const listed = new Set([...(state?.pending?.lines ?? []), ...(state?.sending?.lines ?? [])].map((l) => l.eventId));
  const duplicates: string[] = [];
  let pending = state?.pending;
  for (const line of lines) {
    if (listed.has(line.eventId)) {
      duplicates.push(line.eventId);
      continue;
    }
    listed.add(line.eventId);
    pending = mergeBatches(pending, batchOf(line, now));
  }
  if (!pending || duplicates.length === lines.length) return { dueAt: state?.dueAt, duplicates };
  const dueAt = Math.min(now + timing.quietMs, pending.since + timing.maxWaitMs);
  return { next: { ...state, pending, dueAt }, dueAt, duplicates };
}

/**
 * When the digest needs looking at next, if ever: while a claim is out, when its lease ends (it is confirmed, or
 * orphaned, by then; one digest is sent at a time); otherwise when the pending one is due.
 */
export function digestDueAt(state: ExpiredDigestState | undefined): number | undefined {
  if (state?.sending) return state.sending.until;
  return state?.pending ? state.dueAt : undefined;
}

export interface TakenDigest {
  batch: DigestBatch;
  /** Notification id (messageId, the webhook fallback's idempotency key). */
  id: string;
  next: ExpiredDigestState;
  /** Identifies this claim (its lease's end): only its own claim is confirmed or put back. */
  claim: number;
}

/**
 * The digest due now, if any, and the state once it is claimed. One claim at a time: while one is out, nothing
 * else is taken. A claim left unconfirmed past its lease (the replica died while sending) is due again, with
 * whatever was folded meanwhile: a crash loses no alert.
 */
export function takeDigest(state: ExpiredDigestState, now: number, leaseMs = DIGEST_LEASE_MS): TakenDigest | undefined {
  if (state.sending && state.sending.until > now) return undefined;
  let orphan: DigestBatch | undefined;
  if (state.sending) {
    const { until: _until, ...b } = state.sending;
    orphan = b;
  }
  const due = state.pending !== undefined && state.dueAt !== undefined && state.dueAt <= now;
  const batch = mergeBatches(orphan, due ? state.pending : undefined);
  if (!batch) return undefined;
  const claim = now + leaseMs;
  const next: ExpiredDigestState = { sending: { ...batch, until: claim } };
  if (!due && state.pending) {
    next.pending = state.pending;
    if (state.dueAt !== undefined) next.dueAt = state.dueAt;
  }
  return { batch, id: `expired-digest-${batch.since}-${batch.count}`, next, claim };
}

/** The digest went out: its claim is done (unless another replica took it over meanwhile: then it is theirs). */
export function confirmDigest(state: ExpiredDigestState, claim?: number): ExpiredDigestState {
  if (claim !== undefined && state.sending?.until !== claim) return state;
  const { sending: _sending, ...rest } = state;
  return rest;
}

/**
 * A digest that could not be sent goes back, ahead of anything folded meanwhile, to be tried again at `retryAt`.
 * Undefined when the claim is no longer this one (another replica took it over, with these alerts): nothing to do.
 */
export function restoreDigest(
  state: ExpiredDigestState | undefined,
  taken: Pick<TakenDigest, 'batch' | 'claim'>,
  retryAt: number,
): ExpiredDigestState | undefined {
  if (state?.sending && state.sending.until !== taken.claim) return undefined;
  const rest = state ? confirmDigest(state) : {};
  return {
    ...rest,
    pending: mergeBatches(taken.batch, rest.pending),
    dueAt: Math.min(rest.dueAt ?? retryAt, retryAt),
  };
}

/** "24 h", "90 min", "2 d": ALERT_MAX_AGE as people write it. */
export function roundDuration(ms: number): string {
  return formatDuration(ms, 'round');
}

export function highestSeverity(batch: Pick<DigestBatch, 'bySeverity'>): Severity {
  return SEVERITIES.find((s) => (batch.bySeverity[s] ?? 0) > 0) ?? 'INFO';
}

function severityCounts(counts: Partial<Record<Severity, number>>): string {
  return SEVERITIES.filter((s) => (counts[s] ?? 0) > 0)
    .map((s) => `${counts[s]} ${s}`)
    .join(', ');
}

function lineText(l: DigestLine): string {
  const where = l.runId
    ? `run ${l.runId}${l.job && !l.headline.includes(l.job) ? ` of ${l.job}` : ''}`
    : l.job && !l.headline.includes(l.job)
      ? `job ${l.job}`
      : undefined;
  const label = l.resolved ? 'RESOLVED' : l.severity;
  return `${formatTime(l.at)} · ${label} · ${l.headline}${where ? ` · ${where}` : ''}`;
}

/**
 * The digest as one Alert (the normal path then renders, addresses and sends it): severity is the highest folded
 * one; the body lists the alerts in the order they happened, the most severe kept when there are more than fit.
 */
export function digestAlert(taken: Pick<TakenDigest, 'batch' | 'id'>, maxAgeMs: number, now: number): Alert {
  const { batch } = taken;
  const age = roundDuration(maxAgeMs);
  const n = batch.count;
  const headline = `${n} ${n === 1 ? 'alert' : 'alerts'} older than ${age} ${n === 1 ? 'was' : 'were'} not sent one by one while the notifier was away`;
  const listed = [...batch.lines].sort((a, b) => a.at - b.at || a.eventId.localeCompare(b.eventId));
  const unlisted: Partial<Record<Severity, number>> = { ...batch.bySeverity };
  for (const l of listed) unlisted[l.severity] = Math.max(0, (unlisted[l.severity] ?? 0) - 1);
  const more = Math.max(0, n - listed.length);
  const body = [
    `These alerts were raised while the notifier was not running (or could not keep up), and were older than ALERT_MAX_AGE (${age}) when it got to them. Instead of ${n === 1 ? 'an email' : `${n} emails`} about day-old events, here they are in one list:`,
    '',
    ...listed.map(lineText),
    ...(more > 0
      ? [
          `… and ${more} more${severityCounts(unlisted) ? ` (${severityCounts(unlisted)})` : ''}: not listed here; \`vigil runs --status failed\` and the notifier's log ("alert event older than ALERT_MAX_AGE") have them all.`,
        ]
      : []),
  ].join('\n');
  return {
    eventId: taken.id,
    subject: 'notifier.expired-digest',
    kind: 'expired-digest',
    severity: highestSeverity(batch),
    resolved: false,
    headline,
    scope: 'notifier',
    occurredAt: new Date(now).toISOString(),
    facts: [
      ['Alerts', `${n} (${severityCounts(batch.bySeverity)})`],
      ['Happened between', `${formatTime(batch.oldestAt)} and ${formatTime(batch.newestAt)}`],
      ['ALERT_MAX_AGE', age],
    ],
    body,
    groupType: 'expired-digest',
  };
}
