import type { Logger } from '@vigil/shared';
import type { Alert } from './alert.js';
import type { DedupeStore } from './dedupe-store.js';
import { formatDuration, formatTime } from './render-email.js';
import {
  noteSecretsAlert,
  noteSecretsRecovery,
  type RecoveryDecision,
  type SecretsIncident,
} from './secrets-incident.js';
import type { EventLike } from './to-alert.js';

/**
 * A secrets provider's outage as the notifier keeps it (record per provider scope in KV `vigil_notified`, applied
 * with compare-and-set; the pure transitions are in secrets-incident.ts): failure alerts join it, and the recovery
 * that ends it becomes the ✅ RESOLVED email.
 */
export class SecretsNotices {
  constructor(
    private readonly dedupe: DedupeStore,
    private readonly now: () => number,
  ) {}

  /** A secrets failure alert joins its provider's outage record, so its recovery can be reported (and only then). */
  async note(alert: Alert, event: EventLike, log: Logger): Promise<void> {
    const at = event.time ? Date.parse(event.time) : this.now();
    const kind = alert.kind as 'secrets-refresh-failed' | 'secrets-stale-served';
    try {
      await this.dedupe.applyIncident<SecretsIncident, void>(alert.scope, (current) => ({
        next: noteSecretsAlert(current, { kind, names: alert.items ?? [], at, missing: alert.missingSecrets }),
        result: undefined,
      }));
    } catch (err) {
      log.warn({ err, scope: alert.scope }, 'secrets outage not recorded: its recovery may send no resolved email');
    }
  }

  /**
   * `secrets.refreshed` with `recovered: true`. True when it ends an outage the notifier alerted about: the alert
   * becomes the ✅ RESOLVED email (how long it was down, which secrets were served stale). False otherwise: nothing
   * was alerted, another recovery already ended it, or some alerted secrets still fail.
   */
  async end(alert: Alert, event: EventLike, log: Logger): Promise<boolean> {
    const at = event.time ? Date.parse(event.time) : this.now();
    const decision = await this.dedupe.applyIncident<SecretsIncident, RecoveryDecision>(alert.scope, (current) => {
      const d = noteSecretsRecovery(current, {
        eventId: event.id,
        names: alert.items ?? [],
        at,
        downForSeconds: alert.recovery?.downForSeconds,
      });
      // a redelivery of the ending event finds the record already ended: nothing to write
      return { next: d.action === 'ignore' || current?.endedBy ? undefined : d.next, result: d };
    });
    if (decision.action === 'ignore') {
      log.debug(
        { scope: alert.scope, names: alert.items },
        'secrets recovery without an open alerted outage: no email',
      );
      return false;
    }
    if (decision.action === 'wait') {
      log.info(
        { scope: alert.scope, recovered: alert.items, stillFailing: decision.stillOpen },
        'secrets partly recovered: the resolved email waits for the rest',
      );
      return false;
    }
    const inc = decision.next;
    const end = inc.endedBy?.at ?? at;
    try {
      await this.dedupe.markResolved(alert.scope, end);
    } catch (err) {
      log.warn({ err, scope: alert.scope }, 'resolution mark not written; late alerts of the outage are not marked');
    }
    const measured = inc.downForSeconds !== undefined;
    const downMs = measured ? (inc.downForSeconds as number) * 1000 : Math.max(0, end - inc.since);
    const down = formatDuration(downMs);
    // Every secret alerted about was one the provider said does not exist: nothing was down, they are back.
    const alerted = [...new Set([...inc.stale, ...inc.failed])];
    const restored = alerted.length > 0 && alerted.every((n) => inc.missing?.includes(n));
    const provider = alert.scope.replace(/^secrets:/, '');
    if (restored) {
      const [one] = alerted;
      alert.headline = `${alerted.length === 1 ? `secret ${one} exists` : `secrets ${alerted.join(', ')} exist`} again in ${provider} (missing ${measured ? '' : 'at least '}${down})`;
      alert.missingSecrets = alerted;
    } else {
      alert.headline = `${alert.headline} (down ${measured ? '' : 'at least '}${down})`;
    }
    alert.facts.push(
      [
        restored ? 'Missing for' : 'Down for',
        measured ? `${down} (from the first failed provider call)` : `at least ${down} (since the first alert)`,
      ],
      ['First alert', formatTime(inc.since)],
      ['Served stale during the outage', inc.stale.length ? inc.stale.join(', ') : 'none'],
    );
    if (inc.failed.length) alert.facts.push(['Failed to refresh during the outage', inc.failed.join(', ')]);
    alert.facts.push(['Alerts about the outage', String(inc.alerts)]);
    alert.staleSecrets = inc.stale;
    return true;
  }
}
