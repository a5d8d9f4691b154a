/**
 * Which instances of a service have a breaker open, within one opening (breaker-incident.ts). Every replica has its
 * own breaker per dependency and publishes its own `breaker.*` events (with its `instance`): the dependency is only
 * known to work again once every instance that opened its breaker has closed it, so one replica's close must not end
 * the opening while another's breaker is still open. Pure.
 *
 * - An event without `instance` (a publisher from before breaker events carried it) counts as one anonymous instance
 *   `""`: such closes end the opening as they always did (the first close after the latest opening). A record written
 *   before instances were kept is that anonymous instance, open since its `lastOpenedAt`.
 * - Each instance keeps its latest opening and, once closed, its close: a close older than that instance's latest
 *   opening (events out of order) leaves it open; an opening no newer than its close belongs to what ended.
 * - Instances that never close (killed, replaced) keep the opening going: the watchdog's rounds end it once no instance
 *   reports the breaker open (breaker-gone.ts), whatever this map says.
 */

/** One instance's breaker in an opening: its latest opening, and its close once it closed after that (ms). */
export interface InstanceOpening {
  openedAt: number;
  closedAt?: number;
}

export type InstanceOpenings = Record<string, InstanceOpening>;

/** The instance of an event that names none. */
export const ANONYMOUS_INSTANCE = '';

/**
 * A bound on the record's size. Past it, closed instances are forgotten first; an instance beyond that is not
 * followed (its close cannot end the opening; the others' closes, or the watchdog's rounds, do).
 */
export const MAX_INSTANCES = 50;

/** The record's instances; one written before they were kept is the anonymous instance, open since `lastOpenedAt`. */
export function instancesOf(inc: { instances?: InstanceOpenings; lastOpenedAt: number }): InstanceOpenings {
  return inc.instances ?? { [ANONYMOUS_INSTANCE]: { openedAt: inc.lastOpenedAt } };
}

/** How many instances have it open. */
export const openCount = (map: InstanceOpenings) => Object.values(map).filter((e) => e.closedAt === undefined).length;

/** An opening on `instance` at `at`. Undefined: nothing new for it (a redelivery, older, or not followed: full). */
export function openOn(map: InstanceOpenings, instance: string, at: number): InstanceOpenings | undefined {
  const had = map[instance];
  if (had) return at <= (had.closedAt ?? had.openedAt) ? undefined : { ...map, [instance]: { openedAt: at } };
  const keys = Object.keys(map);
  if (keys.length < MAX_INSTANCES) return { ...map, [instance]: { openedAt: at } };
  const closed = keys.filter((k) => map[k].closedAt !== undefined);
  if (closed.length === 0) return undefined;
  const oldest = closed.reduce((a, b) => ((map[a].closedAt ?? 0) <= (map[b].closedAt ?? 0) ? a : b));
  const { [oldest]: _forgotten, ...rest } = map;
  return { ...rest, [instance]: { openedAt: at } };
}

export type InstanceClose =
  /** Its opening is not known here (not recorded, not followed), or it closed already: nothing changes. */
  | { action: 'not-open' }
  /** Older than its latest opening (events out of order): it stays open. */
  | { action: 'reopened' }
  /** Closed; `open`: how many instances still have it open. */
  | { action: 'closed'; map: InstanceOpenings; open: number };

/** A close on `instance` at `at`. */
export function closeOn(map: InstanceOpenings, instance: string, at: number): InstanceClose {
  const had = map[instance];
  if (!had || had.closedAt !== undefined) return { action: 'not-open' };
  if (at < had.openedAt) return { action: 'reopened' };
  const next = { ...map, [instance]: { openedAt: had.openedAt, closedAt: at } };
  return { action: 'closed', map: next, open: openCount(next) };
}

const MAX_SHOWN = 5;

/**
 * The notice's line about the instances that opened it, when more than one did: its "last opened again" and its
 * opened alerts then span several instances' breakers, not one breaker opening again and again.
 */
export function instancesFact(map: InstanceOpenings | undefined): [string, string] | undefined {
  // in the order they first opened it; the anonymous instance has no name to show
  const ids = Object.keys(map ?? {}).filter((k) => k !== ANONYMOUS_INSTANCE);
  if (ids.length < 2) return undefined;
  const shown = ids.slice(0, MAX_SHOWN).join(', ') + (ids.length > MAX_SHOWN ? ', …' : '');
  return ['Instances', `opened on ${ids.length} instances: ${shown}`];
}
