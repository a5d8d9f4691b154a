import { type Clock, ErrorCode, type Logger, PermanentError, TransientError, type VigilMetrics } from '@vigil/shared';
import { type Alert, groupKeyOf, type LostFallback } from './alert.js';
import { BreakerNotices } from './breaker-notices.js';
import type { DedupeStore } from './dedupe-store.js';
import type { DigestRecorder } from './digest-recorder.js';
import type { Dispatcher } from './dispatcher.js';
import { digestLineOf, EXPIRED_DIGEST_KEY } from './expired-digest.js';
import type { FollowUps } from './follow-ups.js';
import { type GroupStore, groupKvKey } from './group-store.js';
import { boundedAlert, decideOnAlert, reportsFact, unsentFact } from './grouping.js';
import { JOB_FAILURE_KINDS, LATE_GROUP_SUFFIX, LateJobAlerts } from './late-alerts.js';
import { eventAt, type FallbackHealth, withFallbackRecord } from './lost-fallback.js';
import { SecretsNotices } from './secrets-notices.js';
import { type EventLike, toAlert } from './to-alert.js';

const SECRETS_FAILURE_KINDS: ReadonlySet<string> = new Set(['secrets-refresh-failed', 'secrets-stale-served']);
const FAILURE_KINDS: ReadonlySet<string> = new Set([
  'failed',
  'partial',
  'missed',
  'stuck',
  'breaker-opened',
  ...SECRETS_FAILURE_KINDS,
]);

export interface NotifierOptions {
  dedupe: DedupeStore;
  /** Undefined when grouping is off (ALERT_GROUP_INTERVAL=0). */
  groups?: GroupStore;
  /** Timers of group follow-ups and of the digest of expired alerts. */
  followUps?: FollowUps;
  /** Where events older than `maxAgeMs` go: one digest email for all of them (expired-digest.ts). */
  digest?: DigestRecorder;
  dispatcher: Dispatcher;
  clock: Clock;
  intervalMs: number;
  /** Events older than this when first seen are not sent one by one but folded into the digest (0: no limit). */
  maxAgeMs?: number;
  metrics: VigilMetrics;
  /** Readiness: the notifier's own Slack message was given up (`webhook.dead`, eventType `vigil.alert`). */
  fallbackHealth?: FallbackHealth;
  /** Circuit breaker openings and their closed notices (default: one on the same dedupe store and groups). */
  breakers?: BreakerNotices;
}

/**
 * One event in, at most one notification out: dedupe on the event id, fold into its group unless it is the
 * first (or the interval has passed), then deliver. Throws (→ nak, redelivery) while no channel succeeded.
 */
export class Notifier {
  private readonly breakers: BreakerNotices;
  private readonly secrets: SecretsNotices;
  private readonly late: LateJobAlerts;

  constructor(private readonly o: NotifierOptions) {
    this.secrets = new SecretsNotices(o.dedupe, () => o.clock.now());
    this.late = new LateJobAlerts({ dedupe: o.dedupe, groups: o.groups, metrics: o.metrics });
    this.breakers =
      o.breakers ??
      new BreakerNotices({ dedupe: o.dedupe, dispatcher: o.dispatcher, groups: o.groups, now: () => o.clock.now() });
  }

  /** `deliveries`: how often the broker has handed this event over (1 = first time). */
  async handle(subject: string, event: EventLike, log: Logger, deliveries = 1): Promise<void> {
    const raw = toAlert(subject, event);
    if (!raw) return;
    const alert = raw.lostFallback ? await this.lostFallback(raw, event, log) : raw;
    const age = event.time ? this.o.clock.now() - Date.parse(event.time) : 0;
    if (this.o.maxAgeMs && age > this.o.maxAgeMs) {
      await this.foldExpired(subject, event, alert, age, log, deliveries);
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
    let key: string | undefined;
    try {
      if (alert.kind === 'secrets-recovered' && !(await this.secrets.end(alert, event, log))) {
        await this.o.dedupe.complete(event.id);
        return;
      }
      // a close that ends no opening anyone was told about sends nothing
      if (alert.kind === 'breaker-closed' && !(await this.breakers.closed(alert, event, log))) {
        await this.o.dedupe.complete(event.id);
        return;
      }
      const alreadyResolved = await this.noteResolution(alert, event, log);
      // a job failure the RESOLVED already answered is not sent again (late-alerts.ts: the rule)
      if (alreadyResolved && (await this.late.answered(alert, event, log))) {
        await this.o.dedupe.complete(event.id);
        return;
      }
      if (SECRETS_FAILURE_KINDS.has(alert.kind) && !alreadyResolved) await this.secrets.note(alert, event, log);
      // an opening (also when folded below) is recorded first, so a close handled meanwhile finds it
      if (alert.kind === 'breaker-opened' && !alreadyResolved) await this.breakers.opened(alert, event, log);
      const groups = this.o.groups;
      if (alert.resolved && groups) {
        // The incident is over: what its groups still held back is dropped (no "(+N more)" after the recovery),
        // and counted and named here instead, e.g. "2 (1 stale secret served: partner-api-key; 1 secrets refresh
        // failed: openai, companies)".
        const closed = await groups.closeScope(alert.scope);
        const fact = unsentFact(closed);
        if (fact) alert.facts.push(fact);
        const reports =
          alert.kind === 'recovered' && reportsFact(closed.filter((g) => JOB_FAILURE_KINDS.has(g.latest.kind)));
        if (reports) alert.facts.push(reports);
      } else if (groups && this.groupable(alert, event.id)) {
        // a late job failure nobody was told about: one notice of its own, never folding a failure after the recovery
        const late = alreadyResolved && JOB_FAILURE_KINDS.has(alert.kind) ? LATE_GROUP_SUFFIX : '';
        key = groupKvKey(alert.scope, `${alert.kind}|${alert.groupType}${late}`);
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
      // The recovery may have been handled on its own consumer while this alert was being grouped: looked at again
      // just before sending, so the failure does not arrive after the RESOLVED email without saying so.
      if (
        !alreadyResolved &&
        alert.job &&
        FAILURE_KINDS.has(alert.kind) &&
        (await this.noteResolution(alert, event, log)) &&
        (await this.late.answered(alert, event, log))
      ) {
        if (key) await this.late.withdraw(key, event.id);
        await this.o.dedupe.complete(event.id);
        return;
      }
      const { channel } = await this.o.dispatcher.deliver({ id: event.id, alert });
      // from now on the breaker's close is reported (once), unless this alert already said it was resolved
      if (alert.kind === 'breaker-opened') await this.breakers.alerted(alert, event.id, channel, log);
      await this.o.dedupe.complete(event.id);
    } catch (err) {
      await this.o.dedupe.release(event.id).catch(() => undefined);
      throw err;
    }
  }

  /**
   * An event already older than ALERT_MAX_AGE when first seen (the notifier was down or far behind): a day-old
   * flood of emails helps nobody, silence neither. It is recorded in the digest of expired alerts (KV, shared by
   * replicas) and only then acked; the digest goes out as one email once the backlog is drained (follow-ups.ts).
   */
  private async foldExpired(
    subject: string,
    event: EventLike,
    alert: Alert,
    age: number,
    log: Logger,
    deliveries: number,
  ): Promise<void> {
    if (deliveries > 1) {
      // Recorded (or sent) already, its ack lost: done.
      if (await this.o.dedupe.isDone(event.id)) {
        this.o.metrics.notificationsTotal.inc({ channel: 'none', severity: alert.severity, result: 'duplicate' });
        return;
      }
      // Retried until now because no channel took it: it goes to the DLQ (replayable), never silently away.
      throw new PermanentError(`alert ${event.id} could not be delivered within ALERT_MAX_AGE`, {
        code: ErrorCode.ALL_CHANNELS_FAILED,
      });
    }
    if (alert.kind === 'breaker-closed') {
      // An old close still ends the breaker's opening (a later one starts afresh); it is listed in the digest only
      // when it ends one an alert went out about, like the notice it stands for.
      let ends = false;
      try {
        ends = await this.breakers.closed(alert, event, log);
      } catch (err) {
        log.warn({ err, scope: alert.scope }, 'old breaker close: its opening record not read/written');
      }
      if (!ends) {
        await this.o.dedupe.complete(event.id).catch(() => undefined);
        return;
      }
    }
    const fields = { eventId: event.id, subject, ageMs: age, severity: alert.severity, headline: alert.headline };
    if (!this.o.digest) {
      // not wired (a Notifier built without the digest); the service always wires it
      this.o.metrics.notificationsTotal.inc({ channel: 'none', severity: alert.severity, result: 'expired' });
      log.warn(fields, 'alert event older than ALERT_MAX_AGE: logged, not emailed');
      return;
    }
    let recorded: Awaited<ReturnType<DigestRecorder['record']>>;
    try {
      recorded = await this.o.digest.record(digestLineOf(alert));
    } catch (err) {
      // not recorded: the event stays in the stream (nak)
      throw new TransientError(`alert ${event.id} (older than ALERT_MAX_AGE) not recorded for the digest`, {
        cause: err,
        retryAfterMs: 5_000,
      });
    }
    if (recorded.dueAt !== undefined) this.o.followUps?.schedule(EXPIRED_DIGEST_KEY, recorded.dueAt);
    const result = recorded.duplicate ? 'duplicate' : 'expired';
    this.o.metrics.notificationsTotal.inc({ channel: 'none', severity: alert.severity, result });
    log.warn(
      fields,
      'alert event older than ALERT_MAX_AGE: not emailed on its own, listed in the digest of old alerts',
    );
    // a redelivery (lost ack) then finds it done; recorded in the digest either way
    await this.o.dedupe.complete(event.id).catch((err: unknown) => log.warn({ err }, 'expired alert not marked done'));
  }

  /**
   * Failure and recovery events travel on separate consumers, so after an outage a failure can arrive after the
   * recovery that ended it. It is still sent (nothing is dropped), marked as already resolved, so nobody reads
   * it as the job (or the secrets provider, or the breaker) being broken now. Returns true when it marked the alert.
   */
  private async noteResolution(alert: Alert, event: EventLike, log: Logger): Promise<boolean> {
    const at = event.time ? Date.parse(event.time) : Number.NaN;
    if (!Number.isFinite(at)) return false;
    try {
      if (alert.resolved) {
        // job recoveries; a secrets outage is marked when it ends (SecretsNotices.end), a breaker when it closes
        // (BreakerNotices.closed)
        if (alert.job) {
          // not written: late alerts of this incident are sent marked, as when nobody was told (never fewer)
          await this.late.beforeMark(alert.scope, at).catch((err: unknown) => {
            log.warn({ err, scope: alert.scope }, 'alerted-recovery record not written');
          });
          await this.o.dedupe.markResolved(alert.scope, at);
        }
      } else if (FAILURE_KINDS.has(alert.kind)) {
        const resolvedAt = await this.o.dedupe.resolvedAt(alert.scope);
        if (resolvedAt !== undefined && resolvedAt > at) {
          const when = new Date(resolvedAt).toISOString();
          alert.alreadyResolvedAt = when;
          alert.headline = `${alert.headline} (already resolved)`;
          alert.facts.push(['Already resolved at', when]);
          return true;
        }
      }
    } catch (err) {
      log.warn({ err, scope: alert.scope }, 'resolution mark not read/written; alert sent as is');
    }
    return false;
  }

  /**
   * `webhook.dead` of the notifier's own Slack message: the fallback channel failed (readiness), and the alert
   * about it says what the message was about when its record (written when it was queued) can be read.
   */
  private async lostFallback(alert: Alert, event: EventLike, log: Logger): Promise<Alert> {
    const lost = alert.lostFallback as LostFallback;
    const data = (typeof event.data === 'object' && event.data !== null ? event.data : {}) as Record<string, unknown>;
    this.o.fallbackHealth?.noteDead(lost.webhookId, lost.lastError, eventAt(data, event.time, this.o.clock.now()));
    try {
      const rec = await this.o.dedupe.fallbackRecord(lost.webhookId);
      if (rec) return withFallbackRecord(alert, rec);
      log.warn({ webhookId: lost.webhookId }, 'lost fallback message has no record: its email names the alert id only');
    } catch (err) {
      log.warn(
        { err, webhookId: lost.webhookId },
        'lost fallback message record not read: its email names the id only',
      );
    }
    return alert;
  }

  /** notify.send without a dedupeKey is a one-off message: never folded; nor is the alert about a lost Slack message. */
  private groupable(alert: Alert, eventId: string): boolean {
    if (alert.lostFallback) return false;
    return !(alert.kind === 'message' && alert.scope === `notify:${eventId}`);
  }
}
