import {
  type Clock,
  ErrorCode,
  errorCodeOf,
  type Logger,
  PermanentError,
  type TimerHandle,
  type VigilMetrics,
} from '@vigil/shared';
import type { Alert } from './alert.js';
import type { Dispatcher } from './dispatcher.js';
import {
  confirmDigest,
  DIGEST_LEASE_MS,
  digestAlert,
  digestDueAt,
  EXPIRED_DIGEST_KEY,
  restoreDigest,
  type TakenDigest,
  takeDigest,
} from './expired-digest.js';
import type { GroupStore } from './group-store.js';
import { confirmFollowUp, type FollowUp, restoreFollowUp, takeFollowUp } from './grouping.js';
import { JOB_FAILURE_KINDS } from './late-alerts.js';
import { withDeliveries } from './webhook-fates.js';

export interface FollowUpOptions {
  store: GroupStore;
  dispatcher: Dispatcher;
  clock: Clock;
  intervalMs: number;
  logger: Logger;
  metrics: VigilMetrics;
  /** Delay before a follow-up that could not be sent is tried again. */
  retryMs?: number;
  /** How often the KV is swept for follow-ups whose replica stopped (default: the interval, at least 1 s). */
  sweepMs?: number;
  /** ALERT_MAX_AGE, named in the digest of alerts older than it (expired-digest.ts). */
  maxAgeMs?: number;
  /** The digest's claim lease (tests). */
  digestLeaseMs?: number;
  /**
   * Told after a group's follow-up went out (notification `id`, the channel that took it): a breaker's opened alerts
   * sent this way make its close reported (breaker-notices.ts). Must not throw.
   */
  onSent?: (alert: Alert, id: string, channel: 'email' | 'webhook') => Promise<void>;
  /**
   * When the scope was last marked resolved (KV `vigil_notified`, DedupeStore.resolvedAt): a breaker or job failure
   * group whose follow-up is due after the breaker closed / the job recovered is not sent (see `endedBeforeFollowUp`).
   */
  resolvedAt?: (scope: string) => Promise<number | undefined>;
  /** When a given-up webhook was delivered after all (a replay), if known (webhook-fates.ts). */
  webhookDeliveredAt?: (id: string) => number | undefined;
}

/** A digest nobody could be found for (no recipient at all) is tried again this rarely: each try logs an ERROR. */
const NO_RECIPIENTS_RETRY_MS = 300_000;

/**
 * Sends each group's follow-up when it is due, and the digest of expired alerts (`EXPIRED_DIGEST_KEY`). A timer per
 * group is set by the replica that folded an alert; a periodic sweep of the KV (every interval, and once at start)
 * catches groups whose timer lived in a replica that stopped. Claiming a follow-up is a CAS on the group, so only
 * one replica sends it.
 */
export class FollowUps {
  private readonly timers = new Map<string, { at: number; handle: TimerHandle }>();
  private sweepHandle?: TimerHandle;
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly o: FollowUpOptions) {}

  /** Resolves once the groups left by earlier runs have their follow-up timers. */
  async start(): Promise<void> {
    const first = this.sweep();
    this.track(first);
    await first;
  }

  schedule(key: string, dueAt: number): void {
    if (this.stopped) return;
    const existing = this.timers.get(key);
    if (existing && existing.at <= dueAt) return;
    if (existing) this.o.clock.clearTimeout(existing.handle);
    const handle = this.o.clock.setTimeout(
      () => {
        this.timers.delete(key);
        this.track(this.flush(key));
      },
      Math.max(0, dueAt - this.o.clock.now()),
    );
    this.timers.set(key, { at: dueAt, handle });
  }

  /**
   * A timer can fire a millisecond before the clock reaches its due time (Node rounds timer delays): nothing was
   * due yet, so look again at the due time instead of leaving the follow-up to the next sweep (up to an interval late).
   */
  private async rescheduleIfEarly(key: string, now: number): Promise<void> {
    try {
      const { state } = await this.o.store.get(key);
      if (state && state.pending > 0 && state.dueAt !== undefined && state.dueAt > now) this.schedule(key, state.dueAt);
    } catch (err) {
      this.o.logger.warn({ err, key }, 'could not read a follow-up not due yet; the sweep schedules it');
    }
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private async sweep(): Promise<void> {
    try {
      for (const { key, state } of await this.o.store.list()) {
        if (state.pending > 0 && state.dueAt !== undefined) this.schedule(key, state.dueAt);
        // claimed by a replica that may have died while sending: due again when its lease runs out
        else if (state.sending) this.schedule(key, state.sending.until);
      }
    } catch (err) {
      this.o.logger.warn({ err }, 'follow-up sweep failed');
    }
    try {
      const due = digestDueAt(await this.o.store.getDigest());
      if (due !== undefined) this.schedule(EXPIRED_DIGEST_KEY, due);
    } catch (err) {
      this.o.logger.warn({ err }, 'could not read the digest of expired alerts');
    }
    if (!this.stopped) {
      this.sweepHandle = this.o.clock.setTimeout(
        () => this.track(this.sweep()),
        Math.max(1_000, this.o.sweepMs ?? this.o.intervalMs),
      );
    }
  }

  async flush(key: string): Promise<void> {
    if (key === EXPIRED_DIGEST_KEY) return this.flushDigest();
    const now = this.o.clock.now();
    let taken: FollowUp | undefined;
    try {
      taken = await this.o.store.apply(key, (state) => {
        const f = state ? takeFollowUp(state, now) : undefined;
        return { next: f?.next, result: f };
      });
    } catch (err) {
      this.o.logger.warn({ err, key }, 'could not claim follow-up');
      this.schedule(key, now + (this.o.retryMs ?? 30_000));
      return;
    }
    if (!taken) return this.rescheduleIfEarly(key, now);
    const f = taken;
    try {
      // A recovery closes its scope's groups (notifier.ts): if that happened since the claim, the resolved email
      // already counted these alerts, and a "(+N more)" after it would read as a new failure.
      if (!(await this.o.store.get(key)).state) {
        this.o.logger.info({ key, count: f.count }, 'group closed by a recovery meanwhile: follow-up dropped');
        return;
      }
      if (await this.endedBeforeFollowUp(f.alert, key, f.count)) return;
      // dead webhooks replayed and delivered since: marked so, and no follow-up at all when that is every one of them
      const now = this.o.webhookDeliveredAt
        ? withDeliveries(f.alert, f.items, f.count, this.o.webhookDeliveredAt)
        : { alert: f.alert, items: f.items, drop: false };
      if (now.drop) {
        this.o.logger.info({ key, count: f.count }, 'every webhook of this follow-up was delivered since: dropped');
        this.o.metrics.notificationsTotal.inc({ channel: 'group', severity: f.alert.severity, result: 'dropped' });
        await this.o.store
          .apply(key, (state) => ({ next: state ? confirmFollowUp(state) : state, result: undefined }))
          .catch((err: unknown) => this.o.logger.warn({ err, key }, 'dropped follow-up not confirmed; it may repeat'));
        return;
      }
      const id = `fu-${key}-${f.next.lastSentAt}`;
      const { channel } = await this.o.dispatcher.deliver({
        id,
        alert: now.alert,
        followUp: { count: f.count, sinceMs: f.sinceMs, ...(now.items ? { items: now.items } : {}) },
      });
      this.o.metrics.notificationsTotal.inc({ channel: 'group', severity: f.alert.severity, result: 'follow-up' });
      await this.o.store
        .apply(key, (state) => ({ next: state ? confirmFollowUp(state) : state, result: undefined }))
        .catch((err: unknown) => this.o.logger.warn({ err, key }, 'follow-up sent but not confirmed; it may repeat'));
      // after the confirmation: a notice this leads to (a breaker closed meanwhile) must not count it as unsent
      await this.o.onSent?.(f.alert, id, channel).catch((err: unknown) => {
        this.o.logger.warn({ err, key }, 'follow-up sent; what comes after it was not noted');
      });
    } catch (err) {
      const retryAt = this.o.clock.now() + (this.o.retryMs ?? 30_000);
      this.o.logger.error({ err, key, count: f.count }, 'follow-up not delivered; will retry');
      try {
        // A group closed meanwhile was closed by a recovery, whose resolved email counted these alerts: not back.
        const restored = await this.o.store.apply(key, (state) => ({
          next: state ? restoreFollowUp(state, f.count, retryAt, f.items) : undefined,
          result: state !== undefined,
        }));
        if (!restored) return;
      } catch (e) {
        this.o.logger.error({ err: e, key }, 'could not put the follow-up back');
      }
      this.schedule(key, retryAt);
    }
  }

  /**
   * A circuit breaker's follow-up due after the breaker closed: every alert it folded (the latest one included) is
   * older than the close, so "opened (+N more)" would read as the breaker being open now, and no RESOLVED would follow
   * it (the close was handled already). Job groups get this from their recovery, which closes them and counts what
   * they held in the RESOLVED email; a breaker's close does that only when it sends its notice (not for the
   * notifier's own SMTP breaker whose opened alert went out by email, nor for a close nobody was told about), and
   * opened alerts handled after the close (they wait on their own consumer) start a new group. So the follow-up is
   * dropped here and its group closed: the notice (if one went out) already said the breaker closed, and counted
   * these alerts when it closed the group; otherwise the opened alert was the news. A re-opening after the close has
   * a later time and is sent.
   * Likewise a job failure group (a recovery could not close it, or late-alerts.ts's notice group) all older than the
   * job's recovery: its RESOLVED went out, "(+N more)" would read as failing again. Only that group is closed.
   */
  private async endedBeforeFollowUp(alert: Alert, key: string, count: number): Promise<boolean> {
    const job = JOB_FAILURE_KINDS.has(alert.kind) && alert.job !== undefined;
    if ((alert.kind !== 'breaker-opened' && !job) || !this.o.resolvedAt) return false;
    const at = Date.parse(alert.occurredAt);
    let resolvedAt: number | undefined;
    try {
      resolvedAt = await this.o.resolvedAt(alert.scope);
    } catch (err) {
      this.o.logger.warn({ err, key }, 'resolution mark not read; follow-up sent as is');
      return false;
    }
    if (resolvedAt === undefined || !Number.isFinite(at) || resolvedAt < at) return false;
    const what = job ? 'job recovered' : 'breaker closed';
    const resolved = new Date(resolvedAt).toISOString();
    this.o.logger.info({ key, count, resolved }, `${what} after every alert this follow-up folded: dropped, closed`);
    this.o.metrics.notificationsTotal.inc({ channel: 'group', severity: alert.severity, result: 'dropped' });
    if (job) {
      // kept open (claim confirmed) when an alert folded into it since the claim: it has its own follow-up then
      await this.o.store
        .close(key, (s) => s.pending > 0)
        .then(() => this.o.store.apply(key, (s) => ({ next: s?.sending ? confirmFollowUp(s) : undefined, result: 0 })))
        .catch((err: unknown) => this.o.logger.warn({ err, key }, 'could not close the group of a recovered job'));
      return true;
    }
    await this.o.store
      .closeScope(alert.scope)
      .catch((err: unknown) => this.o.logger.warn({ err, key }, 'could not close the group of a closed breaker'));
    return true;
  }

  /**
   * Sends the digest of expired alerts once it is due: claimed by CAS (one replica sends it), confirmed after a
   * channel took it, put back (with anything folded meanwhile) when none did. Not due yet (more old alerts came
   * since this timer was set): the timer moves to the new due time.
   */
  private async flushDigest(): Promise<void> {
    const key = EXPIRED_DIGEST_KEY;
    const now = this.o.clock.now();
    let claim: { taken?: TakenDigest; laterAt?: number };
    try {
      claim = await this.o.store.applyDigest((state) => {
        const taken = state ? takeDigest(state, now, this.o.digestLeaseMs ?? DIGEST_LEASE_MS) : undefined;
        return { next: taken?.next, result: taken ? { taken } : { laterAt: digestDueAt(state) } };
      });
    } catch (err) {
      this.o.logger.warn({ err }, 'could not claim the digest of expired alerts');
      this.schedule(key, now + (this.o.retryMs ?? 30_000));
      return;
    }
    const { taken } = claim;
    if (!taken) {
      if (claim.laterAt !== undefined) this.schedule(key, Math.max(claim.laterAt, now + 1_000));
      return;
    }
    const alert = digestAlert(taken, this.o.maxAgeMs ?? 86_400_000, now);
    try {
      await this.o.dispatcher.deliver({ id: taken.id, alert });
      this.o.metrics.notificationsTotal.inc({ channel: 'digest', severity: alert.severity, result: 'sent' });
      this.o.logger.info({ count: taken.batch.count, severity: alert.severity }, 'digest of expired alerts sent');
      const nextDue = await this.o.store
        .applyDigest((state) => {
          const next = state ? confirmDigest(state, taken.claim) : undefined;
          return { next: next === state ? undefined : next, result: digestDueAt(next ?? state) };
        })
        .catch((err: unknown) => {
          this.o.logger.warn({ err }, 'digest sent but not confirmed; it may repeat');
          return undefined;
        });
      // old alerts folded while this one was out: their digest is due on its own
      if (nextDue !== undefined) this.schedule(key, nextDue);
    } catch (err) {
      const nobody = err instanceof PermanentError && errorCodeOf(err) === ErrorCode.NO_RECIPIENTS;
      const retryAt = this.o.clock.now() + (nobody ? NO_RECIPIENTS_RETRY_MS : (this.o.retryMs ?? 30_000));
      this.o.logger.error(
        { err, count: taken.batch.count, retryAt: new Date(retryAt).toISOString() },
        'digest of expired alerts not delivered; will retry',
      );
      try {
        await this.o.store.applyDigest((state) => ({ next: restoreDigest(state, taken, retryAt), result: undefined }));
      } catch (e) {
        // still claimed in KV: due again when the claim's lease runs out
        this.o.logger.error({ err: e }, 'could not put the digest back; it is due again after its lease');
        this.schedule(key, taken.next.sending?.until ?? retryAt);
        return;
      }
      this.schedule(key, retryAt);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) this.o.clock.clearTimeout(t.handle);
    this.timers.clear();
    if (this.sweepHandle) this.o.clock.clearTimeout(this.sweepHandle);
    await Promise.allSettled([...this.inFlight]);
  }
}
