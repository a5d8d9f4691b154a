import { ErrorCode, type Logger, PermanentError } from '@vigil/shared';
import type { Alert } from './alert.js';
import {
  type AlertedDecision,
  type BreakerIncident,
  type ClosedDecision,
  describeBreakerClose,
  lateBreakerNotice,
  noteBreakerAlerted,
  noteBreakerClosed,
  noteBreakerOpened,
} from './breaker-incident.js';
import { BreakerIndexStore } from './breaker-index.js';
import type { DedupeStore } from './dedupe-store.js';
import type { Delivery } from './dispatcher.js';
import type { GroupStore } from './group-store.js';
import { unsentFact } from './grouping.js';
import type { EventLike } from './to-alert.js';

/**
 * The notifier's own SMTP breaker. Its opened alert can only go out by email once SMTP works again (the breaker has
 * closed by then): that email is the news, and a closed notice right after it would say the same thing twice. So a
 * notice follows only an opened alert that went out through the webhook fallback (the people who read "email is
 * failing" in Slack get "it works again" by email). The alerts that waited for SMTP are sent by the redrive.
 */
export const OWN_SMTP_BREAKER_SCOPE = 'breaker:notifier.smtp';

export interface BreakerNoticesOptions {
  /** KV `vigil_notified`: the opening records (CAS) next to the dedupe claims and the resolution marks. */
  dedupe: DedupeStore;
  dispatcher: { deliver(d: Delivery): Promise<{ channel: 'email' | 'webhook' }> };
  /** Undefined when grouping is off. */
  groups?: GroupStore;
  now: () => number;
}

export interface NoticeSender {
  dedupe: DedupeStore;
  dispatcher: { deliver(d: Delivery): Promise<unknown> };
  groups?: GroupStore;
}

/**
 * Sends a breaker's ✅ RESOLVED notice that no event carries (a late opened alert's, a watchdog round's: its id is
 * `notice.eventId`), claimed like an event id so replicas send it once. `done`: it went out (now or before),
 * `busy`: another replica is sending it, `failed`: not delivered (logged; the claim is given back).
 */
export async function sendBreakerNotice(
  o: NoticeSender,
  notice: Alert,
  log: Logger,
): Promise<'sent' | 'done' | 'busy' | 'failed'> {
  const id = notice.eventId;
  const nlog = log.child({ notificationId: id, scope: notice.scope });
  try {
    const claim = await o.dedupe.claim(id);
    if (claim !== 'new') return claim; // sent, or being sent, by another replica
  } catch (err) {
    nlog.error({ err }, 'breaker closed notice not sent: its claim failed');
    return 'failed';
  }
  try {
    if (o.groups) {
      // as for any resolved notice: what the opening's groups still held back is counted here, not sent after it
      const fact = unsentFact(await o.groups.closeScope(notice.scope));
      if (fact) notice.facts.push(fact);
    }
    await o.dispatcher.deliver({ id, alert: notice });
    await o.dedupe.complete(id);
    return 'sent';
  } catch (err) {
    if (err instanceof PermanentError && err.code === ErrorCode.NO_RECIPIENTS) {
      await o.dedupe.complete(id).catch(() => undefined);
      nlog.error({ err }, 'breaker closed notice given up: no recipient at any level of the cascade');
      return 'done';
    }
    await o.dedupe.release(id).catch(() => undefined);
    nlog.error({ err }, 'breaker closed notice not delivered');
    return 'failed';
  }
}

/**
 * The ✅ RESOLVED notice of a circuit breaker that closes again, sent once and only after an opened alert about it
 * went out (breaker-incident.ts has the rules, this applies them to KV and sends). Every step is best effort for the
 * opened alert itself: a record that cannot be written never holds an alert back. Every opening recorded here is
 * also listed in the index the watchdog's rounds look at (breaker-index.ts, breaker-reconcile.ts): an opening whose
 * instance is gone gets its end from there.
 */
export class BreakerNotices {
  private readonly index: BreakerIndexStore;

  constructor(private readonly o: BreakerNoticesOptions) {
    this.index = new BreakerIndexStore(o.dedupe);
  }

  /** An opening record written (or found) open: followed by the watchdog's rounds until it ends. Never throws. */
  private async follow(scope: string, inc: BreakerIncident | undefined, log: Logger): Promise<void> {
    if (!inc || inc.closed) return;
    try {
      if (!(await this.index.add(scope, inc))) {
        log.warn({ scope }, 'breaker opening not indexed (too many open): no notice if its instance goes away');
      }
    } catch (err) {
      log.warn({ err, scope }, 'breaker opening not indexed: no notice if its instance goes away');
    }
  }

  private at(event: Pick<EventLike, 'time'> | undefined, alert: Alert): number {
    const t = Date.parse(event?.time ?? alert.occurredAt);
    return Number.isFinite(t) ? t : this.o.now();
  }

  /** A fresh `breaker.opened` (not already resolved), before it is grouped and sent. */
  async opened(alert: Alert, event: EventLike, log: Logger): Promise<void> {
    if (!alert.breaker) return;
    const ref = alert.breaker;
    const at = this.at(event, alert);
    let inc: BreakerIncident | undefined;
    try {
      inc = await this.o.dedupe.applyIncident<BreakerIncident, BreakerIncident | undefined>(alert.scope, (cur) => {
        const next = noteBreakerOpened(cur, { ...ref, at });
        return { next, result: next ?? cur };
      });
    } catch (err) {
      log.warn({ err, scope: alert.scope }, 'breaker opening not recorded: its close may send no resolved notice');
      return;
    }
    await this.follow(alert.scope, inc, log);
  }

  /**
   * An opened alert (notification `id`: the event id, or a group follow-up's id) went out through `channel`. From
   * now on the breaker's close is reported. Sends the notice itself when the close came first (see
   * breaker-incident.ts). Never throws: the alert is out, whatever happens here.
   */
  async alerted(alert: Alert, id: string, channel: 'email' | 'webhook', log: Logger): Promise<void> {
    if (alert.kind !== 'breaker-opened' || !alert.breaker) return;
    // it said "(already resolved)" itself
    if (alert.alreadyResolvedAt) return;
    if (alert.scope === OWN_SMTP_BREAKER_SCOPE && channel === 'email') {
      log.debug('SMTP breaker opened alert went out by email: SMTP works again, no closed notice will follow');
      return;
    }
    const ref = alert.breaker;
    const at = this.at(undefined, alert);
    let decision: AlertedDecision;
    let inc: BreakerIncident | undefined;
    try {
      [decision, inc] = await this.o.dedupe.applyIncident<BreakerIncident, [AlertedDecision, BreakerIncident?]>(
        alert.scope,
        (cur) => {
          const step = noteBreakerAlerted(cur, { ...ref, at, id });
          return { next: step.next, result: [step.result, step.next ?? cur] };
        },
      );
    } catch (err) {
      log.warn({ err, scope: alert.scope }, 'breaker opened alert not recorded: its close may send no resolved notice');
      return;
    }
    if (decision.action === 'late-notice') await this.sendLate(decision.incident, log);
    else await this.follow(alert.scope, inc, log);
  }

  /**
   * `breaker.closed`: true when it ends an opening an alert went out about; `alert` is then the notice (headline with
   * how long the breaker was open, facts). Throws when the record cannot be read (nak: tried again).
   */
  async closed(alert: Alert, event: EventLike, log: Logger): Promise<boolean> {
    const at = this.at(event, alert);
    const decision = await this.o.dedupe.applyIncident<BreakerIncident, ClosedDecision>(alert.scope, (cur) => {
      const step = noteBreakerClosed(cur, { id: event.id, at, instance: alert.breaker?.instance });
      return { next: step.next, result: step.result };
    });
    // Not while the opening goes on (another instance has it open, or this one opened it again): its opened alerts
    // would read "(already resolved)", and its group's follow-up would be dropped. Otherwise an opened alert still on
    // its way (or redelivered) says so, or, when it went out meanwhile, finds the record closed and sends the notice
    // itself (breaker-incident.ts).
    if (decision.action !== 'still-open' && decision.action !== 'reopened') {
      try {
        await this.o.dedupe.markResolved(alert.scope, at);
      } catch (err) {
        log.warn({ err, scope: alert.scope }, 'resolution mark not written; a late opened alert is not marked');
      }
    }
    if (decision.action !== 'notice') {
      log.debug({ scope: alert.scope, decision: decision.action }, 'breaker closed: no resolved notice');
      return false;
    }
    describeBreakerClose(alert, decision.incident);
    return true;
  }

  /** The notice of a close that went by before the opened alert went out: claimed like an event, sent once. */
  private async sendLate(inc: BreakerIncident, log: Logger): Promise<void> {
    await sendBreakerNotice(this.o, lateBreakerNotice(inc), log);
  }
}
