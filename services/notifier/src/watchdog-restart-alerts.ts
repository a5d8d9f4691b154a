import type { Alert } from './alert.js';
import { formatTime } from './render-email.js';
import { factIf, iso, roughDuration, serviceAlert } from './watchdog-alerts.js';
import { type GoneInstance, RESTART_WINDOW_MS, RESTARTS_TO_WARN, SHORT_LIVED_MS } from './watchdog-restarts.js';
import type { WatchRecord } from './watchdog-state.js';

/** The watchdog's alerts about a crash-looping service (watchdog-restarts.ts); their actions are in service-actions.ts. */

const time = (ms: number) => formatTime(ms).replace(/^\S+ /, ''); // "10:04:30 UTC": the facts carry the date

/** When one gone instance lived: from its start when it said, else the rounds it answered in. */
const lived = (g: GoneInstance) =>
  g.started !== undefined
    ? `started ${time(g.started)}, last answered ${time(g.last)}`
    : `answered ${g.first === g.last ? `once, at ${time(g.first)}` : `${time(g.first)}–${time(g.last)}`}`;

/** How their lifetime was told: from their start (current versions), from their first answer (older ones), or both. */
function timedFrom(gone: GoneInstance[]): string {
  const started = gone.filter((g) => g.started !== undefined).length;
  const under = `less than ${roughDuration(SHORT_LIVED_MS)}`;
  if (started === 0) return `answered for ${under}`;
  if (started === gone.length) return `ran for ${under} (from their start to their last answer)`;
  return `ran for ${under} (from their start to their last answer; from their first answer, for those that did not say when they started)`;
}

/** The WARNING of a crash loop (`rec.restarting` set). */
export function serviceRestartingAlert(rec: WatchRecord, timing: { intervalMs: number }): Alert {
  const r = rec.restarting as NonNullable<WatchRecord['restarting']>;
  const s = rec.service;
  const instances = r.recent
    .map((g) => `${g.id} (${lived(g)})`)
    .join(', ')
    .concat(r.count > r.recent.length ? ` and ${r.count - r.recent.length} earlier` : '');
  return serviceAlert(s, {
    eventId: r.id,
    kind: 'service-restarting',
    severity: 'WARNING',
    resolved: false,
    headline: `${s} keeps restarting: ${r.count} instances went away soon after starting, within ${roughDuration(r.lastAt - r.since)}`,
    occurredAt: iso(r.since),
    facts: [
      [
        'Restarts seen',
        `${r.count} instances ${timedFrom(r.recent)} and went away, between ${formatTime(r.since)} and ${formatTime(r.lastAt)}`,
      ],
      ['Instances gone', instances],
      ['Instances answering now', String(rec.instances)],
      [
        'Warning after',
        `${RESTARTS_TO_WARN} such instances within ${roughDuration(RESTART_WINDOW_MS)} (health request \`vigil.health.${s}.each\`, asked every ${roughDuration(timing.intervalMs)}: an instance that lives shorter than that may not be seen at all)`,
      ],
    ],
    body: `Instances of ${s} keep going away shortly after they start, and new ones (new instance ids) take their place. A rolling deploy or a scale-up does not look like this: their new instances stay.`,
    groupType: 'restarting',
  });
}

/** The resolved notice of a crash loop that was warned about (`rec.stable` set). */
export function serviceStableAlert(rec: WatchRecord): Alert {
  const st = rec.stable as NonNullable<WatchRecord['stable']>;
  const s = rec.service;
  return serviceAlert(s, {
    eventId: st.id,
    kind: 'service-stable',
    severity: 'INFO',
    resolved: true,
    headline: `${s} is stable again: no restart for ${roughDuration(st.at - st.lastAt)} (${st.count} restarts seen)`,
    occurredAt: iso(st.at),
    facts: [
      [
        'Restarts seen',
        `${st.count} short-lived instances, between ${formatTime(st.since)} and ${formatTime(st.lastAt)}`,
      ],
      ['Last one answered', formatTime(st.lastAt)],
      ['Instances answering now', String(rec.instances)],
      ...factIf(!st.warningSent, 'Restart warning', () => 'not delivered (every channel failed meanwhile)'),
    ],
    body: `Nothing to do for ${s} itself now: its instances stay up again.`,
    groupType: 'stable',
  });
}
