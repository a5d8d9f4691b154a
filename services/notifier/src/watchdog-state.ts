import {
  observeReadiness,
  type ReadinessChange,
  type ReadinessFields,
  type ReadinessSeen,
} from './watchdog-readiness.js';
import { type GoneInstance, observeRestarts, type RestartChange, type RestartFields } from './watchdog-restarts.js';

/**
 * What the notifiers know about one Vigil service they watch (watchdog.ts): stored as JSON in KV `vigil_notified`
 * under `watchdog_<service>` and changed only by compare-and-set, so replicas and restarts share it. The record
 * exists once an instance of the service has answered: a service never seen is never expected.
 */
export interface WatchRecord extends ReadinessFields, RestartFields {
  service: string;
  /** When a notifier first heard an instance answer: from then on the service is expected to run. */
  firstSeenAt: number;
  /** The last round in which an instance answered. */
  seenAt: number;
  /** How many instances answered then. */
  instances: number;
  /** The last round any notifier asked (answered or not): a long gap means nobody was watching. */
  checkedAt: number;
  /** The first round of the current silence in which no instance answered (watched without a gap since). */
  silentSince?: number;
  /**
   * The silence outlasted the threshold: the down alert of this outage (`id` is its dedupe key). `notReady`: it had
   * been answering with no ready instance before (not alerted about: this alert is the incident's one CRITICAL).
   */
  down?: { id: string; since: number; at: number; sent: boolean; notReady?: { since: number; reason: string } };
  /** The service answered again after an outage: the resolved notice still to be sent. */
  up?: { id: string; since: number; at: number; lastSeenAt: number; downAlertSent: boolean };
}

export interface Observation {
  service: string;
  /** At least one instance answered this round. */
  alive: boolean;
  instances: number;
  /** When the round asked (ms). */
  at: number;
  /** The instances that answered (none when silent); undefined: unknown, restarts are not counted. */
  ids?: readonly string[];
  /** When those of them that said so started (epoch ms, as their clocks tell it; `startedAt` of their answers). */
  starts?: ReadonlyMap<string, number>;
  /** How many of them are ready, and why the others are not; undefined: unknown, never alerted about. */
  readiness?: ReadinessSeen;
}

export interface WatchSettings {
  /** Silence that makes a service down. */
  downAfterMs: number;
  /** Rounds further apart than this (nobody was watching: every notifier was down) restart the silence count. */
  gapMs: number;
  /** While nothing changes, an answering service's record is rewritten at most this often (replicas share it). */
  refreshMs: number;
  /** An instance that has not answered for this long is gone (default: 4 × refreshMs, i.e. two rounds). */
  goneAfterMs?: number;
}

export type WatchChange = 'first-seen' | 'silent' | 'answers-again' | 'down' | 'back';

export interface WatchStep {
  /** The record to write; undefined: leave it as it is. */
  next?: WatchRecord;
  /** What changed, for the log; undefined when nothing did. */
  change?: WatchChange;
}

export const watchKey = (service: string) => `watchdog_${service}`;
export const downAlertId = (service: string, since: number) => `watchdog-down-${service}-${since}`;
export const upAlertId = (service: string, since: number) => `watchdog-up-${service}-${since}`;

/** One round's answer (or silence) of a service applied to its record. Pure. */
export function observe(rec: WatchRecord | undefined, obs: Observation, s: WatchSettings): WatchStep {
  const now = obs.at;
  if (obs.alive) {
    if (!rec) {
      return {
        next: { service: obs.service, firstSeenAt: now, seenAt: now, instances: obs.instances, checkedAt: now },
        change: 'first-seen',
      };
    }
    const seen: WatchRecord = {
      ...rec,
      seenAt: Math.max(rec.seenAt, now),
      instances: obs.instances,
      checkedAt: Math.max(rec.checkedAt, now),
      silentSince: undefined,
    };
    if (rec.down) {
      return {
        next: {
          ...seen,
          down: undefined,
          up: {
            id: upAlertId(obs.service, rec.down.since),
            since: rec.down.since,
            at: now,
            lastSeenAt: rec.seenAt,
            downAlertSent: rec.down.sent,
          },
        },
        change: 'back',
      };
    }
    if (rec.silentSince !== undefined) return { next: seen, change: 'answers-again' };
    // nothing new: another replica (or this one) wrote recently enough
    if (rec.instances === obs.instances && now - rec.checkedAt < s.refreshMs) return {};
    return { next: seen };
  }

  if (!rec) return {}; // never seen: not expected, never alerted about
  const gap = now - rec.checkedAt > s.gapMs;
  const next: WatchRecord = { ...rec, checkedAt: Math.max(rec.checkedAt, now) };
  let change: WatchChange | undefined;
  if (rec.silentSince === undefined || (gap && !rec.down)) {
    // the silence is counted from a round someone watched: after a gap (every notifier was down, e.g. the whole
    // deployment was stopped) it starts again now, so a service still starting up is not reported down at once
    next.silentSince = now;
    if (rec.silentSince === undefined) change = 'silent';
  }
  const since = next.silentSince as number;
  // a not-ready alert still open is the incident's one CRITICAL: its instances also stopping to answer is part of it
  if (!rec.down && !rec.notReady?.alert && now - since >= s.downAfterMs) {
    next.down = { id: downAlertId(obs.service, since), since, at: now, sent: false };
    change = 'down';
  }
  return { next, change };
}

export interface RoundStep extends WatchStep {
  readiness?: ReadinessChange;
  restarts?: RestartChange;
  /** Short-lived instances found gone this round (for the log). */
  goneNow?: GoneInstance[];
}

/**
 * One round applied to a record: answered or silent (observe), ready or not (watchdog-readiness.ts), instances come
 * and gone (watchdog-restarts.ts). Writes only when something changed or the record is due a refresh. Pure.
 */
export function observeRound(rec: WatchRecord | undefined, obs: Observation, s: WatchSettings): RoundStep {
  let base = observe(rec, obs, s);
  const current = base.next ?? rec;
  if (!current) return base; // never seen: not expected
  const gap = rec !== undefined && obs.at - rec.checkedAt > s.gapMs;
  const readiness = observeReadiness(
    rec,
    {
      service: obs.service,
      at: obs.at,
      alive: obs.alive,
      instances: obs.instances,
      seen: obs.readiness ?? {},
      gap,
      down: current.down !== undefined,
    },
    s.downAfterMs,
  );
  const restarts = observeRestarts(
    rec,
    { service: obs.service, at: obs.at, ids: obs.ids, starts: obs.starts, fresh: rec === undefined || gap },
    s.goneAfterMs ?? 4 * s.refreshMs,
  );
  if (!base.next && !readiness.dirty && !restarts.dirty) return {};
  // a change of readiness or instances is written now, with the rest of the round (not only at the next refresh)
  if (!base.next) base = observe(rec, obs, { ...s, refreshMs: 0 });
  const next: WatchRecord = { ...(base.next as WatchRecord), ...readiness.fields, ...restarts.fields };
  if (readiness.change === 'not-ready-ended-by-down' && next.down && rec?.notReady) {
    next.down = { ...next.down, notReady: { since: rec.notReady.since, reason: rec.notReady.reason } };
  }
  return {
    next,
    change: base.change,
    readiness: readiness.change,
    restarts: restarts.change,
    goneNow: restarts.goneNow.length ? restarts.goneNow : undefined,
  };
}

/** After the down alert went out (or another replica had sent it). */
export function markDownSent(rec: WatchRecord | undefined, id: string): WatchRecord | undefined {
  if (!rec?.down || rec.down.id !== id || rec.down.sent) return undefined;
  return { ...rec, down: { ...rec.down, sent: true } };
}

/** After the resolved notice went out (or another replica had sent it). */
export function markUpSent(rec: WatchRecord | undefined, id: string): WatchRecord | undefined {
  if (!rec?.up || rec.up.id !== id) return undefined;
  return { ...rec, up: undefined };
}
