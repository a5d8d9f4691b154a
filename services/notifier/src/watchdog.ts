import {
  type Clock,
  ErrorCode,
  type Logger,
  PermanentError,
  serviceReadiness,
  type TimerHandle,
  VIGIL_SERVICES,
} from '@vigil/shared';
import type { KV, NatsConnection } from 'nats';
import type { Alert } from './alert.js';
import type { DedupeStore } from './dedupe-store.js';
import type { Delivery } from './dispatcher.js';
import { applyJson } from './kv-cas.js';
import { roughDuration, serviceBackAlert, serviceDownAlert } from './watchdog-alerts.js';
import {
  markDownSent,
  markUpSent,
  observe,
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
  services: Record<string, { instances: number; change?: WatchChange }>;
}

export interface WatchdogOptions {
  nc: NatsConnection;
  /** KV `vigil_notified`: the records `watchdog_<service>`, next to the dedupe claims. */
  kv: KV;
  dedupe: DedupeStore;
  dispatcher: { deliver(d: Delivery): Promise<unknown> };
  clock: Clock;
  logger: Logger;
  /** This service (asked as a control, never watched). */
  self: string;
  /** Default: every Vigil service. */
  services?: readonly string[];
  downAfterMs: number;
  intervalMs: number;
  /** How long a round waits for health answers (default 2 s). */
  probeTimeoutMs?: number;
  onRound?: (round: WatchdogRound) => void;
}

/** Default round interval for a threshold: four rounds per threshold, between 1 s and 30 s. */
export function watchdogInterval(downAfterMs: number): number {
  return Math.min(30_000, Math.max(1_000, Math.floor(downAfterMs / 4)));
}

/**
 * Tells people when a whole Vigil service is down. Every round it asks each service's health subject (the same
 * request `vigil health` aggregates); a service that has answered once (record in KV) and then has had no instance
 * answering for `downAfterMs` gets ONE CRITICAL alert, and ONE resolved notice when an instance answers again.
 * Replicas share the records (CAS) and claim each notification in the dedupe store, so two notifiers send each once.
 */
export class Watchdog {
  private timer?: TimerHandle;
  private stopped = false;
  private running?: Promise<void>;
  private blind = false;
  private readonly settings: WatchSettings;

  constructor(private readonly o: WatchdogOptions) {
    this.settings = {
      downAfterMs: o.downAfterMs,
      // a restart of the notifiers (a round or two missed) keeps counting; nobody watching for longer does not
      gapMs: Math.max(o.downAfterMs, 3 * o.intervalMs),
      refreshMs: o.intervalMs / 2,
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
    const timeout = this.o.probeTimeoutMs ?? 2_000;
    const [control, ...answers] = await Promise.all(
      [this.o.self, ...watched].map((s) => serviceReadiness(this.o.nc, s, timeout)),
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
        const instances = answers[i].instances;
        try {
          round.services[service] = { instances, change: await this.watch(service, instances, at) };
        } catch (err) {
          round.services[service] = { instances };
          this.o.logger.warn({ err, service }, 'watchdog: service record not read/written this round');
        }
      }),
    );
    this.o.onRound?.(round);
  }

  private async watch(service: string, instances: number, at: number): Promise<WatchChange | undefined> {
    const key = watchKey(service);
    const { rec, change } = await applyJson<WatchRecord, { rec?: WatchRecord; change?: WatchChange }>(
      this.o.kv,
      key,
      (current) => {
        const step = observe(current, { service, alive: instances > 0, instances, at }, this.settings);
        return { next: step.next, result: { rec: step.next ?? current, change: step.change } };
      },
      'watchdog',
    );
    this.logChange(service, change, rec, instances);
    if (!rec) return change;
    // the resolved notice of an earlier outage first, should a new one already have begun
    if (rec.up) await this.send(key, rec.up.id, serviceBackAlert(rec), markUpSent);
    if (rec.down && !rec.down.sent) {
      await this.send(key, rec.down.id, serviceDownAlert(rec, this.o, at), markDownSent);
    }
    return change;
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

  private logChange(service: string, change: WatchChange | undefined, rec: WatchRecord | undefined, n: number): void {
    const log = this.o.logger;
    switch (change) {
      case 'first-seen':
        log.info(
          { service, instances: n },
          `watchdog: ${service} answers; from now on it is alerted about when no instance answers for ${roughDuration(this.o.downAfterMs)}`,
        );
        break;
      case 'silent':
        log.warn({ service }, `watchdog: no instance of ${service} answered`);
        break;
      case 'answers-again':
        log.info({ service, instances: n }, `watchdog: ${service} answers again`);
        break;
      case 'down':
        log.error({ service, since: rec?.down?.since }, `watchdog: ${service} is down`);
        break;
      case 'back':
        log.info({ service, instances: n, since: rec?.up?.since }, `watchdog: ${service} is back`);
        break;
    }
  }
}
