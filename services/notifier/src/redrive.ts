import { ErrorCode, errorCodeOf, type Logger, runWithCorrelation } from '@vigil/shared';
import { keepNewest } from './keep-newest.js';
import type { EventLike } from './to-alert.js';

/** What the consumers run for one event (Notifier.handle). */
export type AlertHandler = (subject: string, event: EventLike, log: Logger, deliveries: number) => Promise<void>;

interface Waiting {
  subject: string;
  event: EventLike;
  deliveries: number;
  correlationId: string;
}

export interface RedriveOptions {
  handle: AlertHandler;
  logger: Logger;
  /** Alerts kept (the newest win); the others still come back with the broker's redelivery. Default 1000. */
  max?: number;
}

/**
 * An alert no channel took is nak'ed and redelivered with a growing delay: after a long mail outage, every 5 min.
 * Waiting for that after SMTP is back would leave people without their alerts for minutes while email works, so
 * this keeps those alerts (in memory, bounded) and sends them as soon as the SMTP breaker closes again. The broker's
 * own redelivery of each one later finds it notified (dedupe) and only acks it; a replica that restarts loses the
 * list, not the alerts (they are still in the stream).
 */
export class Redrive {
  private readonly waiting = new Map<string, Waiting>();
  private running?: Promise<void>;
  private again = false;
  private stopped = false;

  constructor(private readonly o: RedriveOptions) {}

  get size(): number {
    return this.waiting.size;
  }

  /** The alert found every channel failing on this delivery. */
  remember(subject: string, event: EventLike, deliveries: number, correlationId: string): void {
    if (this.stopped || !event.id) return;
    this.waiting.delete(event.id);
    this.waiting.set(event.id, { subject, event, deliveries, correlationId });
    keepNewest(this.waiting, this.o.max ?? 1_000);
  }

  /** The alert was delivered (or settled otherwise) by the consumer. */
  forget(eventId: string): void {
    this.waiting.delete(eventId);
  }

  /** Sends the waiting alerts, oldest first, one at a time; stops at the first that still finds every channel down. */
  flush(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const run = async () => {
      do {
        this.again = false;
        await this.once();
      } while (this.again && !this.stopped);
    };
    const p = run().finally(() => {
      this.running = undefined;
    });
    this.running = p;
    return p;
  }

  private async once(): Promise<void> {
    const batch = [...this.waiting.values()];
    if (batch.length === 0) return;
    const log = this.o.logger;
    log.info({ alerts: batch.length }, 'SMTP is back: sending the alerts that were waiting for it');
    for (const { event } of batch) {
      if (this.stopped) return;
      const w = this.waiting.get(event.id);
      // delivered meanwhile by the broker's redelivery
      if (!w) continue;
      const elog = log.child({ eventId: w.event.id, subject: w.subject, correlationId: w.correlationId });
      try {
        await runWithCorrelation(w.correlationId, () => this.o.handle(w.subject, w.event, elog, w.deliveries + 1));
        this.waiting.delete(w.event.id);
      } catch (err) {
        if (errorCodeOf(err) === ErrorCode.ALL_CHANNELS_FAILED) {
          // down again: the rest waits for the next recovery (or its own redelivery)
          elog.warn({ err, waiting: this.waiting.size }, 'waiting alert still not delivered; trying again on recovery');
          return;
        }
        // Another replica is sending it, it went past ALERT_MAX_AGE, …: the broker's redelivery settles it, with the
        // consumer's rules (dead-lettering included).
        this.waiting.delete(w.event.id);
        elog.info({ err }, 'waiting alert left to its redelivery');
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.waiting.clear();
    await this.running;
  }
}
