import type { ServiceReadiness } from '@vigil/shared';

/**
 * The watchdog's view of a service that answers but cannot work: every instance that answered said it is not ready
 * (a dependency check failing, start-up not finished). Pure: the record fields and their transitions, from one
 * round's answers. Some instances not ready while another is ready is not this: the service still works.
 */

/** What one round's answers say about readiness (`serviceReadiness(…, { instances: true })`). */
export interface ReadinessSeen {
  /** Instances that answered ready; undefined when unknown (then never alerted about). */
  readyInstances?: number;
  /** For the headline: "redis failing", "start-up not finished" (bounded). */
  what?: string;
  /** Why none is ready: each failing check with its error, each unfinished phase, and on which instances (bounded). */
  reason?: string;
  /** The failing checks' names (bounded): the dependencies the recommended actions name. */
  checks?: string[];
  /** The not-ready instances (bounded). */
  ids?: string[];
}

/** A stretch of rounds in which instances answered and none was ready. */
export interface NotReadyEpisode {
  /** The first such round (watched without a gap since). */
  since: number;
  what: string;
  reason: string;
  checks: string[];
  ids: string[];
  /** How many instances answered in the latest such round. */
  instances: number;
  /** It lasted the threshold: the CRITICAL alert of this episode (`id` is its dedupe key). */
  alert?: { id: string; at: number; sent: boolean };
}

/** A service ready again after an episode that was alerted about: the resolved notice still to be sent. */
export interface ReadyAgain {
  id: string;
  since: number;
  /** The first round with a ready instance. */
  at: number;
  /** The episode's last reason. */
  reason: string;
  alertSent: boolean;
}

/** The readiness part of a service's watchdog record (absent in records of versions before it). */
export interface ReadinessFields {
  notReady?: NotReadyEpisode;
  readyAgain?: ReadyAgain;
}

export type ReadinessChange = 'not-ready' | 'not-ready-alert' | 'ready' | 'ready-again' | 'not-ready-ended-by-down';

export const notReadyAlertId = (service: string, since: number) => `watchdog-notready-${service}-${since}`;
export const readyAgainId = (service: string, since: number) => `watchdog-ready-${service}-${since}`;

const MAX_ITEMS = 5;
const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

function phaseLabel(phase: string): string {
  if (phase === 'starting') return 'start-up not finished';
  if (phase === 'stopping') return 'shutting down';
  return `phase ${clip(phase, 20)}`;
}

/** The readiness facts of one round's answers: how many instances are ready, and why the others are not. Pure. */
export function readinessSeen(r: ServiceReadiness): ReadinessSeen {
  if (r.instances === 0) return {};
  if (!r.notReady) return r.ready ? { readyInstances: r.instances } : {};
  const readyInstances = Math.max(0, r.instances - r.notReady.length);
  if (r.notReady.length === 0) return { readyInstances };
  // each distinct cause once, with the instances it is on
  const causes = new Map<string, string[]>();
  const checks = new Set<string>();
  const labels = new Set<string>();
  const add = (cause: string, instance: string) => causes.set(cause, [...(causes.get(cause) ?? []), instance]);
  for (const i of r.notReady) {
    for (const f of i.failing) {
      const name = clip(f.check, 40);
      checks.add(name);
      labels.add(`${name} failing`);
      add(`${name}: ${clip(f.error ?? 'failed', 200)}`, i.instance);
    }
    if (i.phase !== 'running') {
      labels.add(phaseLabel(i.phase));
      add(phaseLabel(i.phase), i.instance);
    }
    if (i.failing.length === 0 && i.phase === 'running') add('not ready (no failing check named)', i.instance);
  }
  const on = (ids: string[]) =>
    ids.length === r.instances && r.instances > 1
      ? 'every instance'
      : ids.slice(0, MAX_ITEMS).join(', ') + (ids.length > MAX_ITEMS ? ` and ${ids.length - MAX_ITEMS} more` : '');
  const reason = [...causes].map(([cause, ids]) => `${cause} (${on(ids)})`).join('; ');
  return {
    readyInstances,
    what: clip([...labels].slice(0, MAX_ITEMS).join(', ') || 'not ready', 120),
    reason: clip(reason, 600),
    checks: [...checks].slice(0, MAX_ITEMS),
    ids: r.notReady.slice(0, MAX_ITEMS).map((i) => clip(i.instance, 80)),
  };
}

export interface ReadinessStep {
  fields: ReadinessFields;
  /** Something to write (besides what observe writes anyway). */
  dirty: boolean;
  change?: ReadinessChange;
}

/**
 * One round applied to the readiness part of a record. `prev`: the record before the round; `down`: the record has a
 * down alert after it (a silence that outlasted the threshold). A silent round neither ends nor advances an episode,
 * except that a down alert takes over an episode not alerted about yet: one CRITICAL per incident (and observe()
 * raises no down alert while a not-ready alert is open, for the same reason). Pure.
 */
export function observeReadiness(
  prev: ReadinessFields | undefined,
  round: {
    service: string;
    at: number;
    alive: boolean;
    instances: number;
    seen: ReadinessSeen;
    /** Rounds further apart than the gap: nobody was watching, the count starts again. */
    gap: boolean;
    down: boolean;
  },
  downAfterMs: number,
): ReadinessStep {
  const fields: ReadinessFields = { notReady: prev?.notReady, readyAgain: prev?.readyAgain };
  const ep = prev?.notReady;
  const now = round.at;
  if (!round.alive) {
    if (ep && !ep.alert && round.down) {
      return { fields: { ...fields, notReady: undefined }, dirty: true, change: 'not-ready-ended-by-down' };
    }
    return { fields, dirty: false };
  }
  const { seen } = round;
  if (seen.readyInstances === 0) {
    const restart = !ep || (round.gap && !ep.alert);
    const next: NotReadyEpisode = {
      since: restart ? now : ep.since,
      what: seen.what ?? 'not ready',
      reason: seen.reason ?? 'not ready',
      checks: seen.checks ?? [],
      ids: seen.ids ?? [],
      instances: round.instances,
      ...(!restart && ep.alert ? { alert: ep.alert } : {}),
    };
    let change: ReadinessChange | undefined = ep ? undefined : 'not-ready';
    if (!next.alert && now - next.since >= downAfterMs) {
      next.alert = { id: notReadyAlertId(round.service, next.since), at: now, sent: false };
      change = 'not-ready-alert';
    }
    const dirty =
      !ep ||
      change !== undefined ||
      ep.since !== next.since ||
      ep.reason !== next.reason ||
      ep.instances !== next.instances ||
      ep.ids.join('\0') !== next.ids.join('\0');
    return { fields: { ...fields, notReady: next }, dirty, change };
  }
  if (!ep) return { fields, dirty: false };
  // an instance is ready (or readiness is unknown: never alerted about): the episode ends
  if (!ep.alert) return { fields: { ...fields, notReady: undefined }, dirty: true, change: 'ready' };
  return {
    fields: {
      notReady: undefined,
      readyAgain: {
        id: readyAgainId(round.service, ep.since),
        since: ep.since,
        at: now,
        reason: ep.reason,
        alertSent: ep.alert.sent,
      },
    },
    dirty: true,
    change: 'ready-again',
  };
}

/** After the not-ready alert went out (or another replica had sent it). */
export function markNotReadySent<R extends ReadinessFields>(rec: R | undefined, id: string): R | undefined {
  const alert = rec?.notReady?.alert;
  if (!rec?.notReady || !alert || alert.id !== id || alert.sent) return undefined;
  return { ...rec, notReady: { ...rec.notReady, alert: { ...alert, sent: true } } };
}

/** After the ready-again notice went out (or another replica had sent it). */
export function markReadyAgainSent<R extends ReadinessFields>(rec: R | undefined, id: string): R | undefined {
  if (!rec?.readyAgain || rec.readyAgain.id !== id) return undefined;
  return { ...rec, readyAgain: undefined };
}
