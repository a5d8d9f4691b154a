import type { ServiceReadiness } from '@vigil/shared';
import type { BreakerIncident, ClosedDecision } from './breaker-incident.js';

/**
 * An opening of a circuit breaker that no `breaker.closed` will ever end: the instance that had it open is gone
 * (killed, restarted, replaced) and its successor started with a closed breaker, so it never publishes a close. The
 * watchdog's health rounds (every instance answers with the breakers it has that are not closed) find such an
 * opening and end it as a close would, with its notice. Pure: the transitions of the record breaker-incident.ts
 * describes; breaker-reconcile.ts applies them with compare-and-set after each round.
 *
 * - A round counts only when the breaker's service answered with at least one instance and every instance that
 *   answered lists its breakers (none of a version from before answers had them): then the breaker is either
 *   listed (open or half-open somewhere) or on no instance.
 * - A breaker closed only because it has not been tried since its instance started proves nothing: an instance
 *   restarted while the dependency is still down starts with a closed breaker, which opens again at its first calls.
 *   Answers list such breakers apart (`breakersUnproven`, until the breaker's first success); a round in which an
 *   instance lists it unproven (and none open) counts as one that saw it, not as one that found it on no instance.
 *   So the opening ends only once every instance that has the breaker has let a call through it succeed, or none has
 *   it (the instance went away, scaled down, or its successor has not created that breaker).
 * - The first round that finds it on no instance, at least `marginMs` after the latest opening (the instances' and
 *   the notifiers' clocks differ a little), is noted (`unseenSince`); a round that finds it listed forgets that.
 * - A round at least `confirmMs` (one watchdog interval) later that still finds it on no instance ends the opening:
 *   one instance missing one health round (slow to answer) is not enough. The close is dated at the first round
 *   that found it on no instance (the breaker was last seen open before that), never at the confirming round.
 * - The close id is derived from the record (`breaker-gone-<service>.<name>-<unseenSince>`): replicas that end it in
 *   the same round compute the same id, so the CAS and the notice's dedupe claim send one notice between them.
 */

/** What one round's answers of the breaker's service say about it. */
export type BreakerSighting =
  /** An instance lists it as open or half-open (`instances`: how many answered that round). */
  | { open: true; instances?: number }
  /**
   * None lists it open, but an instance (`unproven`: which) has it closed without a success since it started: its
   * dependency may still be down. Not "on no instance": the opening waits.
   */
  | { open: false; unproven: string[]; instances: number }
  /** Every instance that answered listed its breakers, and none this one (open, or closed and not proven). */
  | { open: false; unproven?: undefined; instances: number; ids: string[] };

export interface GoneRules {
  /** A round this close to the latest opening (or before it) may predate it: it does not count. */
  marginMs: number;
  /** How long after the first round that found it on no instance another must still find it so. */
  confirmMs: number;
}

export type RoundDecision =
  | { action: 'none' }
  /** The first round that found it on no instance: noted, a later round confirms. */
  | { action: 'unseen' }
  /** Listed again (or opened again) after a round that found it on no instance: forgotten. */
  | { action: 'seen' }
  /** Open on no instance, but an instance has not proven it since it started: the opening waits (as if seen). */
  | { action: 'unproven' }
  /** Ended without a notice: no opened alert about it went out. */
  | { action: 'ended' }
  /** Ended (now, or by an earlier round whose notice may not have gone out): send `incident`'s notice. */
  | Extract<ClosedDecision, { action: 'notice' }>;

const MAX_IDS = 5;

/** NATS subject tokens of breaker names (`http://127.0.0.1:47012` → `http___127_0_0_1_47012`), as breakers publish. */
const token = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '_');

/**
 * What a round's answers (`serviceReadiness(…, { instances: true })`) say about the breaker `name`; undefined when
 * they say nothing: no instance answered, or one answered without listing its breakers. A breaker whose name only
 * matches as a subject token (an event without `data.name`) counts as listed: in doubt, the opening goes on. An
 * instance of a version whose answer does not list its unproven breakers counts as having proven them (as before).
 */
export function sightBreaker(answer: ServiceReadiness | undefined, name: string): BreakerSighting | undefined {
  if (!answer || answer.instances < 1 || answer.breakersUnknown?.length) return undefined;
  const t = token(name);
  if ((answer.openBreakers ?? []).some((b) => b.name === name || token(b.name) === t)) {
    return { open: true, instances: answer.instances };
  }
  const unproven = (answer.unprovenBreakers ?? []).filter((b) => b.name === name || token(b.name) === t);
  if (unproven.length > 0) {
    return { open: false, unproven: [...new Set(unproven.map((b) => b.instance))], instances: answer.instances };
  }
  const ids = (answer.instanceStarts ?? []).map((i) => i.id).slice(0, MAX_IDS);
  return { open: false, instances: answer.instances, ids };
}

export const goneCloseId = (inc: Pick<BreakerIncident, 'service' | 'name'>, unseenSince: number) =>
  `breaker-gone-${inc.service}.${inc.name}-${unseenSince}`;

/**
 * One health round (started at `at`, ms) applied to a breaker's opening record; `sighting` undefined: the round says
 * nothing about it (sightBreaker). Undefined `next`: nothing to write.
 */
export function noteBreakerRound(
  cur: BreakerIncident | undefined,
  o: { at: number; sighting: BreakerSighting | undefined },
  rules: GoneRules,
): { next?: BreakerIncident; result: RoundDecision } {
  if (!cur) return { result: { action: 'none' } };
  if (cur.closed) {
    // ended by an earlier round whose notice may not have gone out (its replica stopped in between): the claim of
    // the notice id tells whether it did
    if (cur.closed.gone && cur.notice === cur.closed.id) return { result: { action: 'notice', incident: cur } };
    return { result: { action: 'none' } };
  }
  if (!o.sighting) return { result: { action: 'none' } };
  const { unseenSince, ...rest } = cur;
  const forget = () =>
    unseenSince === undefined
      ? { result: { action: 'none' } as const }
      : { next: rest, result: { action: 'seen' } as const };
  if (o.sighting.open || o.sighting.unproven) {
    // unproven: the breaker of an instance started since (restarted while its dependency was down) has not been
    // tried yet, or failed fewer times than its threshold; it may open again at any call. Counted as a round that saw
    // it, so only rounds after it has been proven (or has gone) can end the opening.
    const action = o.sighting.open ? (unseenSince === undefined ? 'none' : 'seen') : 'unproven';
    // remembered, so that a round from before it, written late by another replica, cannot note it unseen
    if (cur.seenAt !== undefined && cur.seenAt >= o.at) return { ...forget(), result: { action } };
    const seen = { ...rest, seenAt: o.at, ...(o.sighting.instances ? { seenInstances: o.sighting.instances } : {}) };
    return { next: seen, result: { action } };
  }
  if (cur.seenAt !== undefined && o.at <= cur.seenAt) return { result: { action: 'none' } };
  // fewer instances answered than when it was last seen open: the one holding it may only have been slow to answer
  // (answers are gathered for a short while), so the round says nothing until as many answer again
  if (cur.seenInstances !== undefined && o.sighting.instances < cur.seenInstances)
    return { result: { action: 'none' } };
  // the round may predate the latest opening (its event on the way, clocks apart): it says nothing
  if (o.at - cur.lastOpenedAt < rules.marginMs) return forget();
  if (unseenSince === undefined || unseenSince - cur.lastOpenedAt < rules.marginMs) {
    // the first round that finds it on no instance (since the latest opening)
    return { next: { ...rest, unseenSince: o.at }, result: { action: 'unseen' } };
  }
  if (o.at - unseenSince < rules.confirmMs) return { result: { action: 'none' } };
  const { instances, ids } = o.sighting;
  const closed = { id: goneCloseId(cur, unseenSince), at: unseenSince, gone: { checkedAt: o.at, instances, ids } };
  if (!cur.alerts) return { next: { ...rest, closed }, result: { action: 'ended' } };
  const next = { ...rest, closed, notice: closed.id };
  return { next, result: { action: 'notice', incident: next } };
}
