/**
 * The watchdog's view of a crash-looping service: instances that come back quickly each time never leave the service
 * silent long enough to be down, but each start has a new instance id (`<hostname>-<pid>-<random>`), so instances
 * that lived only briefly and then went away are counted. Pure: the record fields and their transitions.
 *
 * An instance's lifetime runs from its start (`startedAt` of its health answers: every instance of a version that has
 * it says so) to the last round it answered; so an instance already running when the watching began (a new record, a
 * notifier restart after a gap) counts too, and one that started long ago is never short-lived, however late it was
 * first seen. An instance that does not say when it started (an older version) is timed from the first round it
 * answered; when it was already running then (`pre`), its lifetime is unknown and it never counts.
 *
 * A rolling deploy replaces long-lived instances by new ones that stay, and a scale-up adds instances that stay:
 * neither counts. Several deploys or scale-downs within minutes of each other do (their instances were short-lived).
 */

/** An instance that went away after running for less than this (its start, else its first answer, to its last). */
export const SHORT_LIVED_MS = 5 * 60_000;
/** This many short-lived instances gone within RESTART_WINDOW_MS → one WARNING. */
export const RESTARTS_TO_WARN = 3;
export const RESTART_WINDOW_MS = 15 * 60_000;
/** No short-lived instance gone for this long (and an instance that has lived longer answers) → resolved. */
export const STABLE_AFTER_MS = 15 * 60_000;
/**
 * Clocks of two hosts differ: a start that is ahead of the round that first saw the instance by at most this is taken
 * as that round (the instance has just started); one further ahead is not believed (the instance's clock is wrong:
 * timed from its first answer instead), nor is one before 2020 (a host clock that was never set).
 */
export const CLOCK_SKEW_MS = 60_000;
const EARLIEST_START = Date.UTC(2020, 0, 1);
/** Bounds that keep the record small. */
const MAX_TRACKED = 32;
const MAX_LISTED = 10;

/** An instance that answered lately. */
export interface TrackedInstance {
  id: string;
  /** First and last round it answered (ms). */
  first: number;
  last: number;
  /**
   * Already running when the watching began (new record, a gap, more instances than tracked): without `started` its
   * lifetime is unknown.
   */
  pre?: true;
  /**
   * When it started (ms), as its health answer said, at most `first` (see CLOCK_SKEW_MS); its lifetime is `last` −
   * `started`. Absent: it did not say (a version from before `startedAt`; records of earlier notifier versions).
   */
  started?: number;
}

/** A short-lived instance that went away: `last` is when it answered last; `started` when it started, if it said. */
export interface GoneInstance {
  id: string;
  first: number;
  last: number;
  started?: number;
}

/** The restarts the WARNING is about (`id` is its dedupe key). */
export interface RestartIncident {
  id: string;
  /** When the first instance counted started (or was first seen, when it did not say). */
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
 * A start as an instance reported it (ms, its clock), made fit to time it on the notifier's clock, given the round
 * that first saw it: undefined when unknown or not believed (see CLOCK_SKEW_MS), else at most `first`.
 */
export function believedStart(startedAt: number | undefined, first: number): number | undefined {
  if (startedAt === undefined || !Number.isFinite(startedAt) || startedAt < EARLIEST_START) return undefined;
  if (startedAt > first + CLOCK_SKEW_MS) return undefined;
  return Math.min(startedAt, first);
}

/** Where an instance's lifetime is counted from: its start, else its first answer; undefined: unknown (`pre`). */
const lifeStart = (t: TrackedInstance): number | undefined => t.started ?? (t.pre ? undefined : t.first);

const withStart = <T extends object>(o: T, started: number | undefined): T & { started?: number } =>
  started === undefined ? o : { ...o, started };

/**
 * One round applied to the restart part of a record. `ids`: the instances that answered (none in a silent round);
 * undefined when unknown (nothing changes). `starts`: when those that said so started (their clock, ms). `fresh`: the
 * record is new or rounds were further apart than the gap (nobody watched): an instance absent then is dropped
 * uncounted, one new then was already running (`pre`: its lifetime is unknown unless it says when it started).
 * `goneAfterMs`: an instance that has not answered for this long is gone (one missed answer is not enough). Pure.
 */
export function observeRestarts(
  prev: RestartFields | undefined,
  round: {
    service: string;
    at: number;
    ids?: readonly string[];
    starts?: ReadonlyMap<string, number>;
    fresh: boolean;
  },
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
    if (present.has(t.id)) {
      // tracked by a notifier version that did not read starts: the start is taken now
      const started = t.started ?? believedStart(round.starts?.get(t.id), t.first);
      if (started !== t.started) dirty = true;
      tracked.push(withStart({ ...t, last: Math.max(t.last, now) }, started));
    } else if (round.fresh || now - t.last >= goneAfterMs) {
      dirty = true;
      const start = lifeStart(t);
      if (!round.fresh && start !== undefined && t.last - start < SHORT_LIVED_MS)
        goneNow.push(withStart({ id: t.id, first: t.first, last: t.last }, t.started));
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
      const started = back.started ?? believedStart(round.starts?.get(id), back.first);
      tracked.push(withStart({ id, first: back.first, last: now }, started));
    } else if (tracked.length < MAX_TRACKED) {
      const started = believedStart(round.starts?.get(id), now);
      tracked.push(
        withStart({ id, first: now, last: now, ...(unknownLifetime ? { pre: true as const } : {}) }, started),
      );
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
      tracked.some((t) => present.has(t.id) && livedLong(t, now))
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
    const since = Math.min(...gone.map((g) => g.started ?? g.first));
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

/** An instance that has run at least SHORT_LIVED_MS (or was already running, its start unknown): the service is stable. */
function livedLong(t: TrackedInstance, now: number): boolean {
  const start = lifeStart(t);
  return start === undefined || now - start >= SHORT_LIVED_MS;
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
