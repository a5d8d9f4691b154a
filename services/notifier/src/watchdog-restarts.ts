/**
 * The watchdog's view of a crash-looping service: instances that come back quickly each time never leave the service
 * silent long enough to be down, but each start has a new instance id (`<hostname>-<pid>-<random>`), so instances
 * that answered only briefly and then went away are counted. Pure: the record fields and their transitions.
 *
 * A rolling deploy replaces long-lived instances by new ones that stay, and a scale-up adds instances that stay:
 * neither counts. Several deploys or scale-downs within minutes of each other do (their instances were short-lived).
 */

/** An instance that answered went away after answering for less than this (first to last round it answered). */
export const SHORT_LIVED_MS = 5 * 60_000;
/** This many short-lived instances gone within RESTART_WINDOW_MS → one WARNING. */
export const RESTARTS_TO_WARN = 3;
export const RESTART_WINDOW_MS = 15 * 60_000;
/** No short-lived instance gone for this long (and an instance that has lived longer answers) → resolved. */
export const STABLE_AFTER_MS = 15 * 60_000;
/** Bounds that keep the record small. */
const MAX_TRACKED = 32;
const MAX_LISTED = 10;

/** An instance that answered lately. */
export interface TrackedInstance {
  id: string;
  /** First and last round it answered (ms). */
  first: number;
  last: number;
  /** Already running when the watching began (new record, a gap, more instances than tracked): lifetime unknown. */
  pre?: true;
}

/** A short-lived instance that went away: `last` is when it answered last. */
export interface GoneInstance {
  id: string;
  first: number;
  last: number;
}

/** The restarts the WARNING is about (`id` is its dedupe key). */
export interface RestartIncident {
  id: string;
  /** When the first instance counted was first seen. */
  since: number;
  /** When the warning was raised. */
  at: number;
  /** Short-lived instances gone since `since`, the warning's count included. */
  count: number;
  /** The latest of them (bounded), oldest first. */
  recent: GoneInstance[];
  /** When the latest of them answered last. */
  lastAt: number;
  sent: boolean;
}

/** Stable again after restarts that were warned about: the resolved notice still to be sent. */
export interface StableAgain {
  id: string;
  since: number;
  at: number;
  count: number;
  lastAt: number;
  warningSent: boolean;
}

/** The restart part of a service's watchdog record (absent in records of versions before it). */
export interface RestartFields {
  /** Instances answering lately (bounded). Absent: nothing tracked yet, every instance's lifetime is unknown. */
  tracked?: TrackedInstance[];
  /** Short-lived instances gone within the last RESTART_WINDOW_MS (bounded), oldest first. */
  gone?: GoneInstance[];
  /** The last round more instances answered than are tracked. */
  crowdedAt?: number;
  restarting?: RestartIncident;
  stable?: StableAgain;
}

export type RestartChange = 'short-lived-gone' | 'restarting' | 'stable';

export const restartingAlertId = (service: string, since: number) => `watchdog-restarting-${service}-${since}`;
export const stableAgainId = (service: string, since: number) => `watchdog-stable-${service}-${since}`;

export interface RestartStep {
  fields: RestartFields;
  /** Something to write: an instance came or went, a count or the incident changed (not just `last` times). */
  dirty: boolean;
  change?: RestartChange;
  /** Short-lived instances found gone this round (for the log). */
  goneNow: GoneInstance[];
}

/**
 * One round applied to the restart part of a record. `ids`: the instances that answered (none in a silent round);
 * undefined when unknown (nothing changes). `fresh`: the record is new or rounds were further apart than the gap
 * (nobody watched): an instance absent then is dropped uncounted, one new then has an unknown lifetime.
 * `goneAfterMs`: an instance that has not answered for this long is gone (one missed answer is not enough). Pure.
 */
export function observeRestarts(
  prev: RestartFields | undefined,
  round: { service: string; at: number; ids?: readonly string[]; fresh: boolean },
  goneAfterMs: number,
): RestartStep {
  const keep: RestartFields = {
    tracked: prev?.tracked,
    gone: prev?.gone,
    crowdedAt: prev?.crowdedAt,
    restarting: prev?.restarting,
    stable: prev?.stable,
  };
  if (!round.ids) return { fields: keep, dirty: false, goneNow: [] };
  const now = round.at;
  const present = new Set(round.ids);
  let dirty = prev?.tracked === undefined;
  const crowdedAt = present.size > MAX_TRACKED ? now : prev?.crowdedAt;
  if (crowdedAt !== prev?.crowdedAt) dirty = true;
  const unknownLifetime =
    round.fresh || prev?.tracked === undefined || (crowdedAt !== undefined && now - crowdedAt < SHORT_LIVED_MS);

  const tracked: TrackedInstance[] = [];
  const goneNow: GoneInstance[] = [];
  for (const t of prev?.tracked ?? []) {
    if (present.has(t.id)) tracked.push({ ...t, last: Math.max(t.last, now) });
    else if (round.fresh || now - t.last >= goneAfterMs) {
      dirty = true;
      if (!round.fresh && !t.pre && t.last - t.first < SHORT_LIVED_MS)
        goneNow.push({ id: t.id, first: t.first, last: t.last });
    } else tracked.push(t);
  }
  let gone = [...(prev?.gone ?? [])];
  const known = new Set(tracked.map((t) => t.id));
  for (const id of present) {
    if (known.has(id)) continue;
    dirty = true;
    const back = gone.find((g) => g.id === id);
    if (back) {
      // counted gone, but it answers again: it was only slow to answer (its count in an open warning stays)
      gone = gone.filter((g) => g.id !== id);
      tracked.push({ id, first: back.first, last: now });
    } else if (tracked.length < MAX_TRACKED) {
      tracked.push({ id, first: now, last: now, ...(unknownLifetime ? { pre: true as const } : {}) });
    }
  }
  const before = gone.length;
  gone = [...gone, ...goneNow].filter((g) => g.last >= now - RESTART_WINDOW_MS).slice(-MAX_LISTED);
  if (gone.length !== before) dirty = true;

  const fields: RestartFields = { tracked, gone: gone.length ? gone : undefined, crowdedAt, stable: prev?.stable };
  let restarting = prev?.restarting;
  let change: RestartChange | undefined = goneNow.length ? 'short-lived-gone' : undefined;
  if (restarting) {
    if (goneNow.length) {
      restarting = {
        ...restarting,
        count: restarting.count + goneNow.length,
        recent: [...restarting.recent, ...goneNow].slice(-MAX_LISTED),
        lastAt: Math.max(restarting.lastAt, ...goneNow.map((g) => g.last)),
      };
    } else if (
      now - restarting.lastAt >= STABLE_AFTER_MS &&
      tracked.some((t) => present.has(t.id) && (t.pre || now - t.first >= SHORT_LIVED_MS))
    ) {
      fields.stable = {
        id: stableAgainId(round.service, restarting.since),
        since: restarting.since,
        at: now,
        count: restarting.count,
        lastAt: restarting.lastAt,
        warningSent: restarting.sent,
      };
      restarting = undefined;
      change = 'stable';
      dirty = true;
    }
  } else if (gone.length >= RESTARTS_TO_WARN) {
    const since = Math.min(...gone.map((g) => g.first));
    restarting = {
      id: restartingAlertId(round.service, since),
      since,
      at: now,
      count: gone.length,
      recent: gone,
      lastAt: Math.max(...gone.map((g) => g.last)),
      sent: false,
    };
    change = 'restarting';
    dirty = true;
  }
  fields.restarting = restarting;
  return { fields, dirty, change, goneNow };
}

/** After the restart warning went out (or another replica had sent it). */
export function markRestartingSent<R extends RestartFields>(rec: R | undefined, id: string): R | undefined {
  if (!rec?.restarting || rec.restarting.id !== id || rec.restarting.sent) return undefined;
  return { ...rec, restarting: { ...rec.restarting, sent: true } };
}

/** After the stable-again notice went out (or another replica had sent it). */
export function markStableSent<R extends RestartFields>(rec: R | undefined, id: string): R | undefined {
  if (!rec?.stable || rec.stable.id !== id) return undefined;
  return { ...rec, stable: undefined };
}
