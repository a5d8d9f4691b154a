import type { Logger, ServiceReadiness } from '@vigil/shared';
import { type BreakerIncident, lateBreakerNotice } from './breaker-incident.js';
import { type GoneRules, noteBreakerRound, type RoundDecision, sightBreaker } from './breaker-gone.js';
import { BreakerIndexStore } from './breaker-index.js';
import { sendBreakerNotice } from './breaker-notices.js';
import type { DedupeStore } from './dedupe-store.js';
import type { Delivery } from './dispatcher.js';
import type { GroupStore } from './group-store.js';

/** A round's answers this much after the latest opening count (the instances' clocks and the notifiers' differ). */
export const GONE_MARGIN_MS = 5_000;

/** What a round did about breakers (scopes), for the round's report and the tests; undefined when nothing. */
export interface BreakerRoundReport {
  /** Found on no instance for the first time: a later round confirms. */
  unseen?: string[];
  /**
   * Open on no instance, but an instance has it closed without a success since it started (restarted while its
   * dependency may still be down): it waits until that instance's breaker has let a call through (or has gone).
   */
  unproven?: string[];
  /** Ended by this round: the ✅ RESOLVED notice went out (or another replica sent it). */
  resolved?: string[];
  /** Ended by this round without a notice: no opened alert about it had gone out. */
  ended?: string[];
}

export interface BreakerReconcileOptions {
  /** KV `vigil_notified`: the opening records, their index, the notices' dedupe claims. */
  dedupe: DedupeStore;
  dispatcher: { deliver(d: Delivery): Promise<unknown> };
  logger: Logger;
  /** The alert groups (undefined while grouping is off): the notice closes the breaker's groups, as a close does. */
  groups?: GroupStore;
  /** The watchdog's round interval: a second round this much later confirms the first. */
  intervalMs: number;
}

/** How long an opening ended before its opened alert went out is still followed (the alert's delivery retries). */
const LATE_ALERT_FOLLOW_MS = 15 * 60_000;

/**
 * After each watchdog round (every replica runs its own: the records' compare-and-set and the notices' dedupe claims
 * make each end, and each notice, happen once), ends the breaker openings no instance reports any more
 * (breaker-gone.ts has the rules): the ✅ RESOLVED notice a `breaker.closed` would have sent, saying why. Also drops
 * from the index (breaker-index.ts) what has ended and been notified, or expired.
 */
export class BreakerReconciler {
  private readonly index: BreakerIndexStore;
  private readonly rules: GoneRules;

  constructor(private readonly o: BreakerReconcileOptions) {
    this.index = new BreakerIndexStore(o.dedupe);
    this.rules = { marginMs: Math.min(GONE_MARGIN_MS, o.intervalMs), confirmMs: o.intervalMs };
  }

  /**
   * `at`: when the round began; `answers`: the services it asked (the notifier itself included), each with what its
   * instances answered. Throws only when the index cannot be read; each opening is best effort on its own.
   */
  async round(at: number, answers: ReadonlyMap<string, ServiceReadiness>): Promise<BreakerRoundReport | undefined> {
    const report: BreakerRoundReport = {};
    const add = (key: keyof BreakerRoundReport, scope: string) => {
      report[key] = [...(report[key] ?? []), scope];
    };
    for (const [scope, entry] of await this.index.list()) {
      const log = this.o.logger.child({ scope });
      try {
        const sighting = sightBreaker(answers.get(entry.service), entry.name);
        const [decision, inc] = await this.o.dedupe.applyIncident<BreakerIncident, [RoundDecision, BreakerIncident?]>(
          scope,
          (cur) => {
            const step = noteBreakerRound(cur, { at, sighting }, this.rules);
            return { next: step.next, result: [step.result, step.next ?? cur] };
          },
        );
        if (decision.action === 'unseen') {
          add('unseen', scope);
          log.debug('breaker open on no instance of its service: ended if the next round finds the same');
        }
        if (decision.action === 'unproven') {
          add('unproven', scope);
          log.debug(
            'breaker open on no instance, but not proven yet on an instance started since: waits for a call to succeed',
          );
        }
        if (decision.action === 'ended' && inc?.closed) {
          add('ended', scope);
          log.info('breaker open on no instance any more (no close came): opening ended, no alert had gone out');
          // as a close does: an opened alert still on its way says "(already resolved)" or sends the notice itself
          await this.o.dedupe
            .markResolved(scope, inc.closed.at)
            .catch((err: unknown) =>
              log.warn({ err }, 'resolution mark not written; a late opened alert is not marked'),
            );
        }
        let notified = !inc?.closed || !inc.notice;
        if (decision.action === 'notice') {
          const outcome = await this.notify(scope, decision.incident, log);
          notified = outcome === 'done' || outcome === 'sent';
          if (outcome === 'sent') add('resolved', scope);
        } else if (inc?.closed && inc.notice) {
          // ended by a close: its notice went out once its event was handled
          notified = await this.o.dedupe.isDone(inc.notice);
          if (!notified && inc.closed.gone) {
            // ended here, then an opened alert went out late and claimed the notice, whose delivery failed: again
            const outcome = await this.notify(scope, inc, log);
            notified = outcome === 'done' || outcome === 'sent';
          }
        }
        // ended before any opened alert went out: followed a while longer, in case one is still on its way
        if (inc?.closed?.gone && !inc.notice && at - inc.closed.at < LATE_ALERT_FOLLOW_MS) notified = false;
        // nothing more to follow: ended and notified, or its record expired (the bucket's TTL)
        if (!inc || (inc.closed && notified)) await this.index.drop(scope, inc?.closed?.at ?? entry.since);
      } catch (err) {
        log.warn({ err }, 'breaker opening not checked against the health answers this round');
      }
    }
    return Object.keys(report).length ? report : undefined;
  }

  private async notify(scope: string, inc: BreakerIncident, log: Logger): Promise<'sent' | 'done' | 'busy' | 'failed'> {
    const closed = inc.closed as NonNullable<BreakerIncident['closed']>;
    // as a close does: an opened alert still on its way (older than this end) says "(already resolved)"
    await this.o.dedupe
      .markResolved(scope, closed.at)
      .catch((err: unknown) => log.warn({ err }, 'resolution mark not written; a late opened alert is not marked'));
    const notice = lateBreakerNotice(inc);
    const outcome = await sendBreakerNotice(
      { dedupe: this.o.dedupe, dispatcher: this.o.dispatcher, groups: this.o.groups },
      notice,
      log,
    );
    if (outcome === 'sent') {
      log.info(
        { notificationId: notice.eventId, openSince: new Date(inc.since).toISOString() },
        'breaker open on no instance any more (no close came): resolved notice sent',
      );
    }
    return outcome;
  }
}
