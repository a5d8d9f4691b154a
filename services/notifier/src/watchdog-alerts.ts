import type { Alert } from './alert.js';
import { formatDuration, formatTime } from './render-email.js';
import type { WatchRecord } from './watchdog-state.js';

/** A duration for a headline: "45 s", "2 min", "3 h 5 min" (the facts carry the exact times). */
export function roughDuration(ms: number): string {
  return formatDuration(ms, 'rough');
}

export const iso = (ms: number) => new Date(ms).toISOString();

type Fact = [string, string];

/** A fact only when `when` holds: the optional lines of an alert's facts, spread into the list. */
export const factIf = (when: unknown, label: string, value: () => string): Fact[] => (when ? [[label, value()]] : []);

/**
 * A watchdog alert about service `s`: what all of them share (the health subject watched, the service as scope, the
 * service as the first fact) around what is particular to each.
 */
export function serviceAlert(
  s: string,
  alert: Omit<Alert, 'subject' | 'scope' | 'service' | 'facts'> & { facts: Fact[] },
): Alert {
  return {
    ...alert,
    subject: `vigil.health.${s}`,
    scope: `service:${s}`,
    service: s,
    facts: [['Service', s], ...alert.facts],
  };
}

/**
 * The CRITICAL alert of an outage (`rec.down` set): no instance of the service has answered its health request
 * since `rec.down.since`. `now`: when it is sent (a retried alert says how long it has been by then).
 */
export function serviceDownAlert(
  rec: WatchRecord,
  timing: { downAfterMs: number; intervalMs: number },
  now: number,
): Alert {
  const down = rec.down as NonNullable<WatchRecord['down']>;
  const s = rec.service;
  return serviceAlert(s, {
    eventId: down.id,
    kind: 'service-down',
    severity: 'CRITICAL',
    resolved: false,
    headline: `${s} is down: no instance has answered for ${roughDuration(Math.max(now, down.at) - down.since)}`,
    occurredAt: iso(down.since),
    facts: [
      [
        'No answer since',
        `${formatTime(down.since)} (health request \`vigil.health.${s}\`, asked every ${roughDuration(timing.intervalMs)})`,
      ],
      ['Last answer', `${formatTime(rec.seenAt)} (${rec.instances} instance${rec.instances === 1 ? '' : 's'})`],
      ['Alert after', `${roughDuration(timing.downAfterMs)} without an answer (WATCHDOG_DOWN_AFTER)`],
      ['Watched since', `${formatTime(rec.firstSeenAt)} (first answer seen)`],
      ...factIf(
        down.notReady,
        'Before that',
        () =>
          `no instance was ready since ${formatTime(down.notReady?.since ?? 0)}: ${down.notReady?.reason} (this alert covers that too: no separate "not ready" alert)`,
      ),
    ],
    groupType: 'down',
  });
}

/**
 * The resolved notice of an outage (`rec.up` set): an instance answers again. When none of those answering is ready
 * (still starting, or a dependency failing) it says so, and that a "not ready" alert follows if that lasts.
 */
export function serviceBackAlert(rec: WatchRecord, timing?: { downAfterMs: number }): Alert {
  const up = rec.up as NonNullable<WatchRecord['up']>;
  const s = rec.service;
  const downMs = Math.max(0, up.at - up.since);
  return serviceAlert(s, {
    eventId: up.id,
    kind: 'service-recovered',
    severity: 'INFO',
    resolved: true,
    headline: `${s} is back: an instance answers again (down ${roughDuration(downMs)})`,
    occurredAt: iso(up.at),
    facts: [
      ['Down for', `${formatDuration(downMs)} (from the first unanswered health request to the first answer)`],
      ['No answer from', formatTime(up.since)],
      ['Answers again since', formatTime(up.at)],
      ['Last answer before the outage', formatTime(up.lastSeenAt)],
      ['Instances answering now', String(rec.instances)],
      ...factIf(
        rec.notReady,
        'Ready',
        () =>
          `not yet: ${rec.notReady?.reason}. If no instance is ready for ${timing ? roughDuration(timing.downAfterMs) : 'WATCHDOG_DOWN_AFTER'}, a CRITICAL "${s} is not ready" alert follows`,
      ),
      ...factIf(!up.downAlertSent, 'Down alert', () => 'not delivered (every channel failed while it was down)'),
    ],
    groupType: 'recovered',
  });
}
