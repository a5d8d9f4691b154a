import type { Alert } from './alert.js';
import {
  ANONYMOUS_INSTANCE,
  closeOn,
  type InstanceOpenings,
  instancesFact,
  instancesOf,
  openOn,
} from './breaker-instances.js';
import { formatDuration, formatTime } from './render-email.js';
import { breakerScope } from './to-alert.js';
import { roughDuration } from './watchdog-alerts.js';

/**
 * One opening of a circuit breaker, from its first `breaker.opened` to the `breaker.closed` that ends it, as pure
 * state transitions (breaker-notices.ts applies them with compare-and-set on the record `incident.breaker:<service>.<name>`
 * in KV `vigil_notified`, shared by replicas and restarts):
 *
 * - every fresh `breaker.opened` the notifier handles (sent or folded into its group) opens the record, or moves
 *   `lastOpenedAt` (a breaker goes round open → half-open → open while its dependency stays down);
 * - an opened alert (or its group's follow-up) that went out marks it `alerts`;
 * - each instance of the service has its own breaker (breaker-instances.ts): the opening goes on while one of them
 *   has it open, and the close that leaves none ends it (`closed`). If an alert went out, that close becomes the
 *   ✅ RESOLVED notice (`notice` = its event id): the CAS picks one close, so two replicas (or two closes of the same
 *   instance) send one notice. If none went out, nothing is sent;
 * - an opened alert whose delivery was under way while the close ended the record (or a follow-up sent after it)
 *   went out unmarked: it sends the notice itself (`notice` = `breaker-closed-<close id>`), so nobody is left with
 *   an "opened" and no end;
 * - no `breaker.closed` ever comes when the instance that had the breaker open is gone (killed, restarted, replaced:
 *   its successor starts with a closed breaker). The watchdog's health rounds end such an opening instead
 *   (breaker-gone.ts: `unseenSince`, then a close with `gone`), with the same notice rules.
 *
 * An ended record stays (until the bucket's TTL) as history: a late opening older than its close belongs to it.
 */
export interface BreakerIncident {
  service: string;
  name: string;
  /** Event time of the first opening (ms). */
  since: number;
  /** Event time of the latest opening on any instance (ms). */
  lastOpenedAt: number;
  /**
   * The instances that opened it, each with its latest opening and its close (breaker-instances.ts). Absent in a
   * record from before they were kept: one anonymous instance open since `lastOpenedAt`.
   */
  instances?: InstanceOpenings;
  /** Opened alerts (and follow-ups) that went out: how many, and the first. */
  alerts?: { count: number; firstAt: number; firstId: string; lastId: string };
  /**
   * The first health round (watchdog, ms) in which every instance of the service answered with its breakers and none
   * listed this one as open or half-open; a later round that still finds none ends the opening (breaker-gone.ts).
   */
  unseenSince?: number;
  /**
   * The latest health round (ms) in which an instance listed it open or half-open: a round older than that which
   * found it on no instance (another replica's, landing late) says nothing.
   */
  seenAt?: number;
  /** How many instances answered in that round: a later round with fewer answering says nothing. */
  seenInstances?: number;
  /**
   * The close that ended it. `gone`: no `breaker.closed` came; no instance reported it open any more from `at` (the
   * first such health round), confirmed by the round at `checkedAt`, in which `instances` answered (`ids`, bounded).
   */
  closed?: { id: string; at: number; gone?: GoneClose };
  /** The notification id of the ✅ RESOLVED notice, once claimed (by the close, or by a late opened alert). */
  notice?: string;
}

/** How a watchdog round ended an opening no `breaker.closed` ended (breaker-gone.ts). */
export interface GoneClose {
  checkedAt: number;
  instances: number;
  ids: string[];
}

export interface BreakerRef {
  service: string;
  name: string;
}

/** The id of a notice sent by a late opened alert (the close itself went by without one). */
export const lateNoticeId = (closeId: string) => `breaker-closed-${closeId}`;

/** An opening (`at`, ms) on `instance` (an event that names none: the anonymous instance). */
export type OpeningRef = BreakerRef & { at: number; instance?: string };

/** Left out while only the anonymous instance has it open: such records read (and are) as before instances. */
const withInstances = (map: InstanceOpenings) =>
  Object.keys(map).length === 1 && map[ANONYMOUS_INSTANCE] && map[ANONYMOUS_INSTANCE].closedAt === undefined
    ? {}
    : { instances: map };

function fresh(o: OpeningRef): BreakerIncident {
  const instances = withInstances({ [o.instance ?? ANONYMOUS_INSTANCE]: { openedAt: o.at } });
  return { service: o.service, name: o.name, since: o.at, lastOpenedAt: o.at, ...instances };
}

/** An open record that also knows the opening `o`; undefined when it knew it already. */
function withOpening(cur: BreakerIncident, o: OpeningRef): BreakerIncident | undefined {
  const instances = openOn(instancesOf(cur), o.instance ?? ANONYMOUS_INSTANCE, o.at);
  if (!instances && o.at >= cur.since && o.at <= cur.lastOpenedAt) return undefined;
  return {
    ...cur,
    since: Math.min(cur.since, o.at),
    lastOpenedAt: Math.max(cur.lastOpenedAt, o.at),
    ...(instances ? withInstances(instances) : {}),
  };
}

/** A fresh `breaker.opened` (event time `at`, ms). Undefined: nothing to write. */
export function noteBreakerOpened(cur: BreakerIncident | undefined, o: OpeningRef): BreakerIncident | undefined {
  if (!cur) return fresh(o);
  // An ended opening is history: a later opening starts the next one; an earlier one belongs to it.
  if (cur.closed) return o.at > cur.closed.at ? fresh(o) : undefined;
  return withOpening(cur, o);
}

export type AlertedDecision =
  /** Nothing more to do. */
  | { action: 'none' }
  /** The opening was closed before this alert went out: send the notice now (`incident.notice` is its id). */
  | { action: 'late-notice'; incident: BreakerIncident };

/** An opened alert about the opening at `at` (or its group's follow-up, notification `id`) went out. */
export function noteBreakerAlerted(
  cur: BreakerIncident | undefined,
  o: OpeningRef & { id: string },
): { next?: BreakerIncident; result: AlertedDecision } {
  const alerts = (prev: BreakerIncident['alerts']): NonNullable<BreakerIncident['alerts']> =>
    prev
      ? { ...prev, count: prev.lastId === o.id ? prev.count : prev.count + 1, lastId: o.id }
      : { count: 1, firstAt: o.at, firstId: o.id, lastId: o.id };
  // no record (its write failed), or one ended before this opening: this alert opens it
  if (!cur || (cur.closed && o.at > cur.closed.at)) {
    return { next: { ...fresh(o), alerts: alerts(undefined) }, result: { action: 'none' } };
  }
  if (cur.closed) {
    if (cur.notice) return { result: { action: 'none' } }; // the close was reported already
    // Closed while this alert was on its way (or folded until a follow-up after the close): the close found nothing
    // alerted and sent nothing; this alert said "opened", so the notice goes out now.
    const next = { ...cur, alerts: alerts(cur.alerts), notice: lateNoticeId(cur.closed.id) };
    return { next, result: { action: 'late-notice', incident: next } };
  }
  if (cur.alerts?.lastId === o.id) return { result: { action: 'none' } };
  // its opening may not have been recorded (that write failed): its instance's close must still count
  return { next: { ...(withOpening(cur, o) ?? cur), alerts: alerts(cur.alerts) }, result: { action: 'none' } };
}

export type ClosedDecision =
  /** This close ends an opening an alert went out about (or is the redelivery of that close): send the notice. */
  | { action: 'notice'; incident: BreakerIncident }
  /** Nothing is known about an opening of this breaker: no notice. */
  | { action: 'unknown' }
  /** It ends an opening no alert went out about (folded, too old, not delivered yet): no notice. */
  | { action: 'not-alerted' }
  /** Another close ended the opening already (its notice is that one's). */
  | { action: 'already-closed' }
  /** Its instance opened it again after this close (the events arrived out of order): the opening goes on. */
  | { action: 'reopened' }
  /** Another instance still has it open (or this one's opening is not known): the opening goes on. */
  | { action: 'still-open' };

/** A `breaker.closed` (event `id`, time `at` in ms) of `instance` (none named: the anonymous instance). */
export function noteBreakerClosed(
  cur: BreakerIncident | undefined,
  o: { id: string; at: number; instance?: string },
): { next?: BreakerIncident; result: ClosedDecision } {
  if (!cur) return { result: { action: 'unknown' } };
  if (cur.closed) {
    // the redelivery of the close whose notice was not delivered yet: send it again
    if (cur.closed.id === o.id && cur.notice === o.id) return { result: { action: 'notice', incident: cur } };
    return { result: { action: cur.closed.id === o.id ? 'not-alerted' : 'already-closed' } };
  }
  const step = closeOn(instancesOf(cur), o.instance ?? ANONYMOUS_INSTANCE, o.at);
  if (step.action === 'reopened') return { result: { action: 'reopened' } };
  if (step.action === 'not-open') return { result: { action: 'still-open' } };
  if (step.open > 0) return { next: { ...cur, instances: step.map }, result: { action: 'still-open' } };
  const closed = { id: o.id, at: o.at };
  if (!cur.alerts) return { next: { ...cur, instances: step.map, closed }, result: { action: 'not-alerted' } };
  const next = { ...cur, instances: step.map, closed, notice: o.id };
  return { next, result: { action: 'notice', incident: next } };
}

/**
 * How many opened alerts went out. The notifier's own SMTP breaker counts only those handed to the webhook fallback
 * (an emailed one sends no notice): handed over is not delivered, and the notice must not claim more.
 */
function openedAlertsFact(inc: BreakerIncident): [string, string] {
  const count = inc.alerts?.count ?? 0;
  if (inc.service === 'notifier' && inc.name === 'smtp') {
    return [
      'Opened alerts sent',
      `${count} handed to the webhook fallback (queued for ALERT_WEBHOOK_URL; not a confirmed delivery)`,
    ];
  }
  return ['Opened alerts sent', String(count)];
}

/** How long the breaker was open: from its first opening to the close. */
export function openForMs(inc: BreakerIncident): number {
  return Math.max(0, (inc.closed?.at ?? inc.lastOpenedAt) - inc.since);
}

/**
 * Turns the closed alert (to-alert.ts) into the ✅ RESOLVED notice of the opening `inc` ended:
 * `circuit breaker webhooks/https://partner.example closed again (open for 12 min)`.
 */
export function describeBreakerClose(alert: Alert, inc: BreakerIncident): Alert {
  const ms = openForMs(inc);
  if (inc.closed?.gone) return describeGoneClose(alert, inc, inc.closed.gone, ms);
  alert.headline = `circuit breaker ${inc.service}/${inc.name} closed again (open for ${roughDuration(ms)})`;
  alert.facts.push(
    ['Open for', `${formatDuration(ms)} (from its first opening to the close)`],
    ['Opened at', formatTime(inc.since)],
  );
  if (inc.lastOpenedAt > inc.since) alert.facts.push(['Last opened again at', formatTime(inc.lastOpenedAt)]);
  if (inc.closed) alert.facts.push(['Closed at', formatTime(inc.closed.at)]);
  const instances = instancesFact(inc.instances);
  if (instances) alert.facts.push(instances);
  if (inc.alerts) alert.facts.push(openedAlertsFact(inc));
  if (alert.breaker) alert.breaker = { ...alert.breaker, openSince: inc.since };
  return alert;
}

/**
 * The notice of an opening no `breaker.closed` ended (breaker-gone.ts): it says why it counts as over, and that the
 * time open is an upper bound (the breaker was last seen open before the first round that found it on no instance).
 */
function describeGoneClose(alert: Alert, inc: BreakerIncident, gone: GoneClose, ms: number): Alert {
  const { service, name } = inc;
  const closedAt = inc.closed?.at ?? gone.checkedAt;
  const shown = gone.ids.slice(0, 5).join(', ') + (gone.instances > gone.ids.length ? ', …' : '');
  alert.headline = `circuit breaker ${service}/${name} no longer open on any instance (open for at most ${roughDuration(ms)})`;
  alert.breaker = { service, name, gone: true };
  alert.occurredAt = new Date(closedAt).toISOString();
  // an instance may have sent its close while another, gone since, never did
  const someClosed = Object.values(inc.instances ?? {}).some((e) => e.closedAt !== undefined);
  alert.body =
    `${someClosed ? 'Not every instance that had it open sent breaker.closed' : 'No breaker.closed arrived'}, but no instance of ${service} reports this breaker open any more: the instance that ` +
    `had it open is gone (restarted or replaced), or its close was never published. The instances running now call ` +
    `${name} again; should it still fail, their breaker opens again and a new ⚠️ WARNING follows.`;
  alert.facts.push(
    [
      'Why resolved',
      `no instance of ${service} reports it open any more (the instance that opened it is gone: restarted or replaced); checked at ${formatTime(gone.checkedAt)}`,
    ],
    ['Instances answering', `${gone.instances}${shown ? ` (${shown})` : ''}, none with this breaker open or half-open`],
    [
      'Open for',
      `at most ${formatDuration(ms)} (from its first opening to the first health check that found it open on no instance)`,
    ],
    ['Opened at', formatTime(inc.since)],
  );
  if (inc.lastOpenedAt > inc.since) alert.facts.push(['Last opened again at', formatTime(inc.lastOpenedAt)]);
  alert.facts.push(['Open on no instance at', formatTime(closedAt)]);
  const instances = instancesFact(inc.instances);
  if (instances) alert.facts.push(instances);
  if (inc.alerts) alert.facts.push(openedAlertsFact(inc));
  return alert;
}

/**
 * The notice a late opened alert sends (the close itself went by without one): the same email as the close's. Also
 * the notice of an opening a watchdog round ended (breaker-gone.ts; `inc.notice` is its id).
 */
export function lateBreakerNotice(inc: BreakerIncident): Alert {
  const closed = inc.closed as NonNullable<BreakerIncident['closed']>;
  const base: Alert = {
    eventId: inc.notice ?? lateNoticeId(closed.id),
    subject: `breaker.closed.${inc.service}.${inc.name}`,
    kind: 'breaker-closed',
    severity: 'INFO',
    resolved: true,
    headline: `circuit breaker ${inc.service}/${inc.name} closed again`,
    scope: breakerScope(inc.service, inc.name),
    breaker: { service: inc.service, name: inc.name },
    occurredAt: new Date(closed.at).toISOString(),
    facts: [
      ['Service', inc.service],
      ['Breaker', inc.name],
    ],
    groupType: 'closed',
  };
  return describeBreakerClose(base, inc);
}
