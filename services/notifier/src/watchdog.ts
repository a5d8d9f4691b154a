import {
  type Clock,
  ErrorCode,
  type Logger,
  PermanentError,
  type ServiceReadiness,
  serviceReadiness,
  type TimerHandle,
  VIGIL_SERVICES,
} from '@vigil/shared';
import type { KV, NatsConnection } from 'nats';
import type { Alert } from './alert.js';
import { type BreakerRoundReport, BreakerReconciler } from './breaker-reconcile.js';
import type { GroupStore } from './group-store.js';
import type { DedupeStore } from './dedupe-store.js';
import type { Delivery } from './dispatcher.js';
import { applyJson } from './kv-cas.js';
import { serviceBackAlert, serviceDownAlert } from './watchdog-alerts.js';
import { logRound } from './watchdog-log.js';
import { serviceNotReadyAlert, serviceReadyAgainAlert } from './watchdog-readiness-alerts.js';
import { serviceRestartingAlert, serviceStableAlert } from './watchdog-restart-alerts.js';
import { markNotReadySent, markReadyAgainSent, type ReadinessChange, readinessSeen } from './watchdog-readiness.js';
import { markRestartingSent, markStableSent, type RestartChange } from './watchdog-restarts.js';
import {
  markDownSent,
  markUpSent,
  type Observation,
  observeRound,
  type RoundStep,
  type WatchChange,
  type WatchRecord,
  type WatchSettings,
  watchKey,
} from './watchdog-state.js';

/** What one round saw (tests wait for rounds; the log says the same). */
export interface WatchdogRound {
  at: number;
  /** Set when the round was skipped: this notifier could not hear its own health answer (its NATS is unwell). */
  skipped?: string;
  services: Record<string, WatchedService>;
  /** Circuit breaker openings no instance reports any more (breaker-reconcile.ts); only when the round did something. */
  breakers?: BreakerRoundReport;
}

/** One service in a round: how many instances answered, and what changed (each only when something did). */
export interface WatchedService {
  instances: number;
  change?: WatchChange;
  readiness?: ReadinessChange;
  restarts?: RestartChange;
}

export interface WatchdogOptions {
  nc: NatsConnection;
  /** KV `vigil_notified`: the records `watchdog_<service>`, next to the dedupe claims. */
  kv: KV;
  dedupe: DedupeStore;
  /** The alert groups (undefined while grouping is off): an opening ended by a round closes its groups. */
  groups?: GroupStore;
  dispatcher: { deliver(d: Delivery): Promise<unknown> };
  clock: Clock;
  logger: Logger;
  /** This service (asked as a control, never watched). */
  self: string;
  /** Default: every Vigil service. */
  services?: readonly string[];
  downAfterMs: number;
  intervalMs: number;
  /**
   * How long a round waits for health answers (default 3 s: an instance whose dependency hangs answers after its
   * check's 2 s timeout, and must still be heard, not reported silent).
   */
  probeTimeoutMs?: number;
  onRound?: (round: WatchdogRound) => void;
}

/** When the instances that answered started, for those that said so (answers of older versions do not). */
function startsOf(instances: ServiceReadiness['instanceStarts']): Map<string, number> {
  const starts = new Map<string, number>();
  for (const i of instances ?? []) if (i.startedAt !== undefined) starts.set(i.id, i.startedAt);
  return starts;
}

/** Default round interval for a threshold: four rounds per threshold, between 1 s and 30 s. */
export function watchdogInterval(downAfterMs: number): number {
  return Math.min(30_000, Math.max(1_000, Math.floor(downAfterMs / 4)));
}

/**
 * Tells people when a Vigil service is down, not ready or crash-looping. Every round it asks each service's health
 * subject (the same request `vigil health` aggregates); a service that has answered once (record in KV) and then
 * - has had no instance answering for `downAfterMs` gets ONE CRITICAL alert, and ONE resolved notice when an
 *   instance answers again;
 * - has answered with no ready instance for `downAfterMs` gets ONE CRITICAL "not ready" alert, and ONE resolved
 *   notice when an instance is ready again (watchdog-readiness.ts);
 * - has had 3 short-lived instances go away within 15 min gets ONE WARNING "keeps restarting", and ONE resolved
 *   notice once it has been stable for 15 min (watchdog-restarts.ts).
 * The same answers end the circuit breaker openings no instance reports any more, whose instance went away without
 * a `breaker.closed` (breaker-reconcile.ts).
 * Replicas share the records (CAS) and claim each notification in the dedupe store, so two notifiers send each once.
 */
export class Watchdog {
  private timer?: TimerHandle;
  private stopped = false;
  private running?: Promise<void>;
  private blind = false;
  private readonly settings: WatchSettings;
  private readonly breakers: BreakerReconciler;

  constructor(private readonly o: WatchdogOptions) {
    this.breakers = new BreakerReconciler({
      dedupe: o.dedupe,
      groups: o.groups,
      dispatcher: o.dispatcher,
      logger: o.logger,
      intervalMs: o.intervalMs,
    });
    this.settings = {
      downAfterMs: o.downAfterMs,
      // a restart of the notifiers (a round or two missed) keeps counting; nobody watching for longer does not
      gapMs: Math.max(o.downAfterMs, 3 * o.intervalMs),
      refreshMs: o.intervalMs / 2,
      // one missed answer (an instance slow to answer) is not an instance gone
      goneAfterMs: 2 * o.intervalMs,
    };
  }

  start(): void {
    this.arm(0);
  }

  private arm(ms: number): void {
    if (this.stopped) return;
    this.timer = this.o.clock.setTimeout(() => {
      this.timer = undefined;
      const started = this.o.clock.now();
      this.running = this.round(started)
        .catch((err: unknown) => this.o.logger.warn({ err }, 'watchdog round failed'))
        .finally(() => {
          this.running = undefined;
          this.arm(Math.max(0, started + this.o.intervalMs - this.o.clock.now()));
        });
    }, ms);
    (this.timer as { unref?: () => void }).unref?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** `at`: when the round began (its timer fired): the time every answer and silence of the round counts at. */
  private async round(at: number): Promise<void> {
    const watched = (this.o.services ?? VIGIL_SERVICES).filter((s) => s !== this.o.self);
    const timeout = this.o.probeTimeoutMs ?? 3_000;
    const [control, ...answers] = await Promise.all(
      [this.o.self, ...watched].map((s) => serviceReadiness(this.o.nc, s, timeout, { instances: true })),
    );
    const round: WatchdogRound = { at, services: {} };
    if (control.instances === 0) {
      // Not even this instance answered: the requests do not get through, so silence means nothing this round.
      if (!this.blind) {
        this.o.logger.warn(
          { error: control.error },
          'watchdog: this notifier does not hear its own health answer; services are not checked until it does',
        );
      }
      this.blind = true;
      round.skipped = control.error ?? 'no answer from this notifier';
      this.o.onRound?.(round);
      return;
    }
    if (this.blind) this.o.logger.info('watchdog: health requests get through again');
    this.blind = false;
    await Promise.all(
      watched.map(async (service, i) => {
        const answer = answers[i];
        const instances = answer.instances;
        const obs: Observation = {
          service,
          alive: instances > 0,
          instances,
          at,
          ids: (answer.instanceStarts ?? []).map((i) => i.id),
          starts: startsOf(answer.instanceStarts),
          readiness: readinessSeen(answer),
        };
        try {
          const step = await this.watch(obs);
          const seen: WatchedService = { instances };
          if (step.change) seen.change = step.change;
          if (step.readiness) seen.readiness = step.readiness;
          if (step.restarts) seen.restarts = step.restarts;
          round.services[service] = seen;
        } catch (err) {
          round.services[service] = { instances };
          this.o.logger.warn({ err, service }, 'watchdog: service record not read/written this round');
        }
      }),
    );
    // breaker openings whose instance is gone: no instance that answered reports them open any more
    const answered = new Map(watched.map((service, i) => [service, answers[i]] as const)).set(this.o.self, control);
    try {
      const breakers = await this.breakers.round(at, answered);
      if (breakers) round.breakers = breakers;
    } catch (err) {
      this.o.logger.warn({ err }, 'watchdog: breaker openings not checked this round');
    }
    this.o.onRound?.(round);
  }

  private async watch(obs: Observation): Promise<RoundStep> {
    const { service, at } = obs;
    const key = watchKey(service);
    const { rec, step } = await applyJson<WatchRecord, { rec?: WatchRecord; step: RoundStep }>(
      this.o.kv,
      key,
      (current) => {
        const step = observeRound(current, obs, this.settings);
        return { next: step.next, result: { rec: step.next ?? current, step } };
      },
      'watchdog',
    );
    logRound(this.o.logger, this.o.downAfterMs, service, step, rec, obs.instances);
    if (!rec) return step;
    // the resolved notices of earlier incidents first, should a new one already have begun
    if (rec.up) await this.send(key, rec.up.id, serviceBackAlert(rec, this.o), markUpSent);
    if (rec.readyAgain) await this.send(key, rec.readyAgain.id, serviceReadyAgainAlert(rec), markReadyAgainSent);
    if (rec.stable) await this.send(key, rec.stable.id, serviceStableAlert(rec), markStableSent);
    if (rec.down && !rec.down.sent) {
      await this.send(key, rec.down.id, serviceDownAlert(rec, this.o, at), markDownSent);
    }
    if (rec.notReady?.alert && !rec.notReady.alert.sent) {
      await this.send(key, rec.notReady.alert.id, serviceNotReadyAlert(rec, this.o, at), markNotReadySent);
    }
    if (rec.restarting && !rec.restarting.sent) {
      await this.send(key, rec.restarting.id, serviceRestartingAlert(rec, this.o), markRestartingSent);
    }
    return step;
  }

  /** Sends one watchdog notification once across replicas (dedupe claim), then marks it sent in the record. */
  private async send(
    key: string,
    id: string,
    alert: Alert,
    mark: (rec: WatchRecord | undefined, id: string) => WatchRecord | undefined,
  ): Promise<void> {
    const log = this.o.logger.child({ notificationId: id, service: alert.service });
    const claim = await this.o.dedupe.claim(id);
    if (claim === 'busy') return; // another replica is sending it; it marks the record
    if (claim === 'new') {
      try {
        await this.o.dispatcher.deliver({ id, alert });
        await this.o.dedupe.complete(id);
      } catch (err) {
        if (err instanceof PermanentError && err.code === ErrorCode.NO_RECIPIENTS) {
          // logged by the dispatcher (NO RECIPIENTS, notification.failed); repeating it every round helps nobody
          await this.o.dedupe.complete(id);
          log.error({ err }, 'watchdog alert given up: no recipient at any level of the cascade');
        } else {
          await this.o.dedupe.release(id).catch(() => undefined);
          log.error({ err }, 'watchdog alert not delivered yet; tried again next round');
          return;
        }
      }
    }
    await applyJson(
      this.o.kv,
      key,
      (rec: WatchRecord | undefined) => ({ next: mark(rec, id), result: undefined }),
      'watchdog',
    );
  }
}
