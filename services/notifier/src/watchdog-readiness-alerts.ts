import type { Alert } from './alert.js';
import { formatDuration, formatTime } from './render-email.js';
import { factIf, iso, roughDuration, serviceAlert } from './watchdog-alerts.js';
import type { WatchRecord } from './watchdog-state.js';

/**
 * The watchdog's alerts about a service that answers but is not ready (watchdog-readiness.ts); their recommended
 * actions are in service-actions.ts. Every value in them comes from the services' health answers (already scrubbed)
 * or the record: no variable values.
 */

/**
 * The CRITICAL alert of a service with no ready instance (`rec.notReady.alert` set): instances answer, each says it
 * cannot work. `now`: when it is sent (a retried alert says how long it has been by then).
 */
export function serviceNotReadyAlert(
  rec: WatchRecord,
  timing: { downAfterMs: number; intervalMs: number },
  now: number,
): Alert {
  const ep = rec.notReady as NonNullable<WatchRecord['notReady']>;
  const alert = ep.alert as NonNullable<typeof ep.alert>;
  const s = rec.service;
  const on = ep.instances === 1 ? 'its only instance' : `all ${ep.instances} instances`;
  return serviceAlert(s, {
    eventId: alert.id,
    kind: 'service-not-ready',
    severity: 'CRITICAL',
    resolved: false,
    headline: `${s} is not ready: ${ep.what} on ${on} for ${roughDuration(Math.max(now, alert.at) - ep.since)}`,
    occurredAt: iso(ep.since),
    facts: [
      ['Not ready since', `${formatTime(ep.since)} (the first health answer in which no instance was ready)`],
      ['Why', ep.reason],
      [
        'Instances answering',
        `${ep.instances}, none ready${ep.ids.length ? ` (${ep.ids.join(', ')}${ep.ids.length < ep.instances ? ', …' : ''})` : ''}`,
      ],
      [
        'Alert after',
        `${roughDuration(timing.downAfterMs)} without a ready instance (WATCHDOG_DOWN_AFTER; health request \`vigil.health.${s}.each\`, asked every ${roughDuration(timing.intervalMs)})`,
      ],
    ],
    body: `Instances of ${s} answer their health request, but none is ready: each says it cannot do its work, so what ${s} does for Vigil fails or waits until one is.`,
    // the recommended actions name the failing checks (service-actions.ts)
    items: [...ep.checks, ...(/start-up not finished/.test(ep.what) ? ['start-up'] : [])],
    groupType: 'not-ready',
  });
}

/** The resolved notice of a not-ready episode that was alerted about (`rec.readyAgain` set). */
export function serviceReadyAgainAlert(rec: WatchRecord): Alert {
  const again = rec.readyAgain as NonNullable<WatchRecord['readyAgain']>;
  const s = rec.service;
  const ms = Math.max(0, again.at - again.since);
  return serviceAlert(s, {
    eventId: again.id,
    kind: 'service-ready',
    severity: 'INFO',
    resolved: true,
    headline: `${s} is ready again (not ready for ${roughDuration(ms)})`,
    occurredAt: iso(again.at),
    facts: [
      ['Not ready for', `${formatDuration(ms)} (from the first answer with no ready instance to the first ready one)`],
      ['Not ready from', formatTime(again.since)],
      ['Ready again since', formatTime(again.at)],
      ['Last reason', again.reason],
      ['Instances answering now', String(rec.instances)],
      ...factIf(!again.alertSent, 'Not-ready alert', () => 'not delivered (every channel failed meanwhile)'),
    ],
    body: `Nothing to do for ${s} itself: an instance answers ready again.`,
    groupType: 'ready',
  });
}
