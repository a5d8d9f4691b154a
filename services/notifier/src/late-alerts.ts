import type { Logger, VigilMetrics } from '@vigil/shared';
import type { Alert } from './alert.js';
import type { DedupeStore } from './dedupe-store.js';
import type { GroupStore } from './group-store.js';
import type { GroupState } from './grouping.js';

/** The job failure kinds: their incident ends with the job's `job.recovered` (its ✅ RESOLVED email). */
export const JOB_FAILURE_KINDS: ReadonlySet<string> = new Set(['failed', 'partial', 'missed', 'stuck']);

/** Group key suffix of late alerts nobody was told about: never shares a group with a failure after the recovery. */
export const LATE_GROUP_SUFFIX = '|resolved';

/**
 * Job failure alerts that arrive after the recovery that ended them. Failures and recoveries travel on separate
 * consumers, and after a NATS outage the scheduler publishes every missed slot of it and then one catch-up run whose
 * success is the recovery: dozens of `job.missed` can still be waiting when the RESOLVED goes out. The rule, for a job
 * failure older than the job's resolution mark (notifier.ts noteResolution; one newer than it is a new incident and
 * is sent as usual, grouped, at once):
 * - someone was told about the incident it belongs to (an alert or a follow-up of the job's failure groups went out
 *   before a recovery newer than it): that RESOLVED answered it. It is not sent — a CRITICAL, even marked "(already
 *   resolved)", after the RESOLVED reads as the job failing again, and each one would open a group and a "(+N more)".
 *   It is logged (info, with its event id) and counted: `vigil_notifications_total{channel="group",
 *   result="already-resolved"}`.
 * - nobody was (the recovery was handled before any alert of the incident went out, or grouping is off): it is sent,
 *   never dropped in silence, marked "(already resolved)", in a group of its own (`|resolved`): the first is the one
 *   notice, the others fold into it and their follow-up is dropped (follow-ups.ts: all older than the mark).
 * Known edges: a recovery whose alerted-incident record could not be written counts as "nobody was told" (one notice
 * too many, never one too few); with grouping off every late alert is sent, marked, as before.
 */
export class LateJobAlerts {
  constructor(private readonly o: { dedupe: DedupeStore; groups?: GroupStore; metrics: VigilMetrics }) {}

  /**
   * At a job's recovery, before its resolution mark is written (a late alert that sees the mark must also see this):
   * notes the recovery as answering an incident someone was alerted about, when one was.
   */
  async beforeMark(scope: string, at: number): Promise<void> {
    if (!this.o.groups) return;
    const groups = (await this.o.groups.listScope(scope)).filter((s) => JOB_FAILURE_KINDS.has(s.latest.kind));
    if (this.anyAlerted(groups)) await this.o.dedupe.markAlertedRecovery(scope, at);
  }

  /**
   * A group's first alert is sent when it opens, or a follow-up went out. One still being delivered counts: after an
   * outage the recovery usually overtakes the first alert's delivery (seen live), and that alert still goes out (a
   * failed delivery is redelivered, or falls back), so the incident is told either way.
   */
  private anyAlerted(groups: GroupState[]): boolean {
    return groups.some((s) => s.lastSentAt > s.openedAt || s.sentEventId !== undefined);
  }

  /**
   * True when `alert` (already marked resolved; `at` its event's time, as the mark compares it) was answered by a
   * RESOLVED someone alerted got: counted and logged here, not sent. False (send it) when not, or when that cannot be
   * read: never silent.
   */
  async answered(alert: Alert, event: { id: string; time?: string }, log: Logger): Promise<boolean> {
    if (!this.o.groups || !alert.job || !JOB_FAILURE_KINDS.has(alert.kind)) return false;
    const at = event.time ? Date.parse(event.time) : Number.NaN;
    let alertedAt: number | undefined;
    try {
      alertedAt = await this.o.dedupe.alertedRecoveryAt(alert.scope);
    } catch (err) {
      log.warn({ err, scope: alert.scope }, 'alerted-recovery record not read; late alert sent as already resolved');
      return false;
    }
    if (alertedAt === undefined || !Number.isFinite(at) || alertedAt <= at) return false;
    this.o.metrics.notificationsTotal.inc({ channel: 'group', severity: alert.severity, result: 'already-resolved' });
    log.info(
      {
        eventId: event.id,
        eventTime: event.time,
        scope: alert.scope,
        runId: alert.run?.runId,
        resolvedAt: alert.alreadyResolvedAt,
      },
      'alert older than the recovery that answered its incident: not sent (the RESOLVED covered it)',
    );
    return true;
  }

  /**
   * The alert opened a group just before the recovery was seen (its second look at the mark): the group is closed
   * again when it holds only this alert, so the next failure after the recovery alerts at once. A group others folded
   * into meanwhile stays; its follow-up is dropped when every alert in it is older than the mark (follow-ups.ts).
   */
  async withdraw(key: string, eventId: string): Promise<void> {
    await this.o.groups?.close(key, (s) => !(s.sentEventId === eventId && s.total === 1));
  }
}
