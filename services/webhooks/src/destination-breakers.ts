import {
  type Breaker,
  createBreaker,
  ErrorCode,
  type EventPublisher,
  isTransientStatus,
  type Logger,
  TransientError,
} from '@vigil/shared';
import type { BreakerOptions } from '@vigil/shared';
import type { HttpSender, SendResult } from './http-sender.js';

/**
 * Thrown inside the breaker so it counts the attempt as a failure; carries the result for the caller. Its message
 * and class are what `breaker.opened` (and its alert) report: the receiver's actual failure, not a generic one.
 */
export class CountedFailure extends TransientError {
  constructor(readonly result: SendResult) {
    super(describe(result), { code: result.outcome.kind === 'network' ? ErrorCode.TRANSIENT : ErrorCode.HTTP_STATUS });
    this.name = 'DestinationFailure';
  }
}

function describe(result: SendResult): string {
  const o = result.outcome;
  if (o.kind === 'network') return `${o.code ?? 'network error'}: ${o.message}`;
  if (o.kind === 'response') return `HTTP ${o.status}${result.excerpt ? `: ${result.excerpt}` : ''}`;
  return o.message;
}

/** Failures that say "the destination is unwell": network errors, timeouts, 408 and 5xx. 425/429: a live receiver. */
export function countsAgainstDestination(result: SendResult): boolean {
  const o = result.outcome;
  if (o.kind === 'network') return true;
  return o.kind === 'response' && isTransientStatus(o.status) && o.status !== 429 && o.status !== 425;
}

export interface DestinationBreakersOptions {
  service: string;
  failureThreshold: number;
  resetTimeoutMs: number;
  bus?: EventPublisher;
  registry?: BreakerOptions['registry'];
  logger?: Logger;
}

type Send = (url: URL, body: string, headers: Record<string, string>) => Promise<SendResult>;

export interface Destination {
  readonly state: 'closed' | 'open' | 'half-open';
  /** A half-open probe is on its way to the receiver right now (every other call is turned away meanwhile). */
  readonly probing: boolean;
  /** When the breaker last changed state (epoch ms): a new half-open period starts a new chance for a probe. */
  readonly changedAt: number;
  /** How long a delivery should wait before trying this destination; 0 when it may try (half-open: the probe). */
  waitMs(now: number): number;
  /** How long to wait after the breaker turned a call away (someone else holds the half-open probe). */
  rejectedWaitMs(now: number): number;
  send: Send;
}

/**
 * One breaker per origin (scheme://host:port): a dead receiver's failures never open another's breaker. (That a slow
 * or hanging one never takes the others' delivery slots is DestinationSlots' part, destination-slots.ts.)
 */
export class DestinationBreakers {
  private readonly byOrigin = new Map<
    string,
    Destination & { breaker: Breaker<[URL, string, Record<string, string>], SendResult> }
  >();

  constructor(
    private readonly sender: HttpSender,
    private readonly opts: DestinationBreakersOptions,
  ) {}

  for(origin: string): Destination {
    const known = this.byOrigin.get(origin);
    if (known) return known;
    const sender = this.sender;
    // Opossum lets one call through while half-open and turns the rest away until it settles: a delivery (or a
    // parked release) that knows the probe is out waits instead of taking an attempt only to be refused.
    let probing = false;
    const breaker = createBreaker(
      origin,
      async (url: URL, body: string, headers: Record<string, string>) => {
        const probe = breaker.state === 'half-open';
        if (probe) probing = true;
        try {
          const result = await sender.send(url, body, headers);
          if (countsAgainstDestination(result)) throw new CountedFailure(result);
          return result;
        } finally {
          if (probe) probing = false;
        }
      },
      {
        service: this.opts.service,
        failureThreshold: this.opts.failureThreshold,
        resetTimeoutMs: this.opts.resetTimeoutMs,
        isFailure: (err) => err instanceof CountedFailure,
        bus: this.opts.bus,
        registry: this.opts.registry,
        logger: this.opts.logger,
      },
    );
    let openedAt = 0;
    let changedAt = Date.now();
    breaker.on('open', () => {
      openedAt = changedAt = Date.now();
    });
    breaker.on('halfOpen', () => {
      changedAt = Date.now();
    });
    breaker.on('close', () => {
      changedAt = Date.now();
    });
    const reset = this.opts.resetTimeoutMs;
    // While half-open one probe is in flight: the rest wait a little, not a whole reset period.
    const probeWait = Math.min(1000, reset);
    const dest = {
      breaker,
      get state() {
        return breaker.state;
      },
      get probing() {
        return probing && breaker.state === 'half-open';
      },
      get changedAt() {
        return changedAt;
      },
      waitMs(now: number) {
        if (breaker.state === 'half-open') return probing ? probeWait : 0;
        if (breaker.state !== 'open') return 0;
        return Math.max(probeWait, openedAt + reset - now);
      },
      rejectedWaitMs(now: number) {
        return breaker.state === 'open' ? Math.max(probeWait, openedAt + reset - now) : probeWait;
      },
      async send(url: URL, body: string, headers: Record<string, string>) {
        try {
          return await breaker.fire(url, body, headers);
        } catch (err) {
          if (err instanceof CountedFailure) return err.result;
          throw err;
        }
      },
    };
    this.byOrigin.set(origin, dest);
    return dest;
  }

  shutdown(): void {
    for (const d of this.byOrigin.values()) d.breaker.shutdown();
  }
}
