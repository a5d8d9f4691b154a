import { type Clock, ErrorCode, type Logger, PermanentError, TransientError, type VigilMetrics } from '@vigil/shared';
import { type Alert, groupKeyOf } from './alert.js';
import type { DedupeStore } from './dedupe-store.js';
import type { Dispatcher } from './dispatcher.js';
import type { FollowUps } from './follow-ups.js';
import { type GroupStore, groupKvKey } from './group-store.js';
import { boundedAlert, decideOnAlert } from './grouping.js';
import { type EventLike, toAlert } from './to-alert.js';

const FAILURE_KINDS: ReadonlySet<string> = new Set(['failed', 'partial', 'missed', 'stuck']);

export interface NotifierOptions {
  dedupe: DedupeStore;
  /** Undefined when grouping is off (ALERT_GROUP_INTERVAL=0). */
  groups?: GroupStore;
  followUps?: FollowUps;
  dispatcher: Dispatcher;
  clock: Clock;
  intervalMs: number;
  /** Events older than this are logged and skipped (0: no limit). */
  maxAgeMs?: number;
  metrics: VigilMetrics;
}

/**
 * One event in, at most one notification out: dedupe on the event id, fold into its group unless it is the
 * first (or the interval has passed), then deliver. Throws (→ nak, redelivery) while no channel succeeded.
 */
export class Notifier {
  constructor(private readonly o: NotifierOptions) {}

  /** `deliveries`: how often the broker has handed this event over (1 = first time). */
  async handle(subject: string, event: EventLike, log: Logger, deliveries = 1): Promise<void> {
    const alert = toAlert(subject, event);
    if (!alert) return;
    const age = event.time ? this.o.clock.now() - Date.parse(event.time) : 0;
    if (this.o.maxAgeMs && age > this.o.maxAgeMs && deliveries > 1) {
      // Retried until now because no channel took it: it goes to the DLQ (replayable), never silently away.
      throw new PermanentError(`alert ${event.id} could not be delivered within ALERT_MAX_AGE`, {
        code: ErrorCode.ALL_CHANNELS_FAILED,
      });
    }
    if (this.o.maxAgeMs && age > this.o.maxAgeMs) {
      this.o.metrics.notificationsTotal.inc({ channel: 'none', severity: alert.severity, result: 'expired' });
      log.warn(
        { eventId: event.id, subject, ageMs: age, headline: alert.headline },
        'alert event older than ALERT_MAX_AGE: logged, not emailed',
      );
      return;
    }
    const claim = await this.o.dedupe.claim(event.id);
    if (claim === 'done') {
      this.o.metrics.notificationsTotal.inc({ channel: 'none', severity: alert.severity, result: 'duplicate' });
      log.debug({ eventId: event.id }, 'already notified: duplicate delivery ignored');
      return;
    }
    if (claim === 'busy') {
      throw new TransientError(`event ${event.id} is being notified by another replica`, { retryAfterMs: 5_000 });
    }
    try {
      await this.noteResolution(alert, event, log);
      const groups = this.o.groups;
      if (alert.resolved && groups) {
        const closed = await groups.closeScope(alert.scope);
        const folded = closed.reduce((n, s) => n + s.pending, 0);
        if (folded > 0) {
          alert.facts.push(['Unsent alerts folded before recovery', String(folded)]);
        }
      } else if (groups && this.groupable(alert.kind, alert.scope, event.id)) {
        const key = groupKvKey(alert.scope, `${alert.kind}|${alert.groupType}`);
        const now = this.o.clock.now();
        const stored = boundedAlert(alert);
        const decision = await groups.apply(key, (state) => {
          const d = decideOnAlert(state, groupKeyOf(alert), stored, now, this.o.intervalMs);
          return { next: d.next, result: d };
        });
        if (decision.action === 'fold') {
          if (decision.next.dueAt !== undefined) this.o.followUps?.schedule(key, decision.next.dueAt);
          this.o.metrics.notificationsTotal.inc({ channel: 'group', severity: alert.severity, result: 'folded' });
          await this.o.dedupe.complete(event.id);
          return;
        }
      }
      await this.o.dispatcher.deliver({ id: event.id, alert });
      await this.o.dedupe.complete(event.id);
    } catch (err) {
      await this.o.dedupe.release(event.id).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Failure and recovery events travel on separate consumers, so after an outage a failure can arrive after the
   * recovery that ended it. It is still sent (nothing is dropped), marked as already resolved, so nobody reads
   * it as the job being broken now.
   */
  private async noteResolution(alert: Alert, event: EventLike, log: Logger): Promise<void> {
    const at = event.time ? Date.parse(event.time) : Number.NaN;
    if (!alert.job || !Number.isFinite(at)) return;
    try {
      if (alert.resolved) {
        await this.o.dedupe.markResolved(alert.scope, at);
      } else if (FAILURE_KINDS.has(alert.kind)) {
        const resolvedAt = await this.o.dedupe.resolvedAt(alert.scope);
        if (resolvedAt !== undefined && resolvedAt > at) {
          const when = new Date(resolvedAt).toISOString();
          alert.headline = `${alert.headline} (already resolved)`;
          alert.facts.push(['Already resolved at', when]);
        }
      }
    } catch (err) {
      log.warn({ err, scope: alert.scope }, 'resolution mark not read/written; alert sent as is');
    }
  }

  /** notify.send without a dedupeKey is a one-off message: never folded. */
  private groupable(kind: string, scope: string, eventId: string): boolean {
    return !(kind === 'message' && scope === `notify:${eventId}`);
  }
}
