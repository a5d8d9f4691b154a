import { Header, headerRecord, isNotFound, type Logger, publishDurable, type VigilMetrics } from '@vigil/shared';
import type { JetStreamClient, JetStreamManager } from 'nats';
import type { Destination } from './destination-breakers.js';

export const WEBHOOKS_STREAM = 'VIGIL_WEBHOOKS';
const PARKED_PREFIX = 'webhook.parked.';

/**
 * One subject per destination: the origin as base64url (hosts carry dots and ports colons, which a subject token
 * cannot hold).
 */
export function parkedSubject(origin: string): string {
  return `${PARKED_PREFIX}${Buffer.from(origin).toString('base64url')}`;
}

function originOf(subject: string): string | undefined {
  if (!subject.startsWith(PARKED_PREFIX)) return undefined;
  const origin = Buffer.from(subject.slice(PARKED_PREFIX.length), 'base64url').toString();
  return /^https?:\/\/[^/]+$/.test(origin) ? origin : undefined;
}

/** A `webhook.send` message as the stream delivered it: parked and released byte for byte. */
export interface RawSend {
  seq: number;
  body: Uint8Array;
  headers: Record<string, string>;
  /** When the send was first stored (`maxAgeMs` keeps counting from here while it is parked). */
  storedAt: number;
}

export interface ParkingLotDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  destination(origin: string): Destination;
  now: () => number;
  maxAgeMs: number;
  log: Logger;
  metrics?: VigilMetrics;
  /** Parked sends released per destination and round while its breaker is closed (half-open: one, the probe). */
  releaseBatch: number;
  /** A probe released while half-open that has not reached the breaker yet is released again after this long. */
  probeRetryMs: number;
}

/**
 * Webhooks for a destination whose breaker is open wait here, in the stream, instead of in the consumer's
 * ack-pending window: a destination that stays down for days with thousands of webhooks queued would otherwise fill
 * that window (max ack pending) and stop deliveries to every healthy destination. `park` stores a copy under
 * `webhook.parked.<origin>` before the original is acked; each `releaseRound` puts the oldest parked sends back on
 * `webhook.send` as the destination's breaker allows (one probe when half-open, a batch when closed), and those that
 * outlived WEBHOOKS_MAX_AGE at once, so their death is announced on time. A round looks at each send at most once:
 * it ends at the seq that was last when it began. Replicas may release the same send
 * together: the Nats-Msg-Id of the release stores it once, and the webhook's status (delivered) stops a late copy.
 */
export class ParkingLot {
  /** When this replica last let a probe out per destination (see `allows`). */
  private readonly probeReleasedAt = new Map<string, number>();

  constructor(private readonly d: ParkingLotDeps) {}

  async park(origin: string, send: RawSend): Promise<void> {
    await publishDurable(this.d.js, parkedSubject(origin), send.body, {
      msgID: `park.${send.seq}`,
      headers: carried(send.headers, send.storedAt),
    });
    this.d.metrics?.webhookDeliveriesTotal.inc({ result: 'parked' });
  }

  /** One pass over every destination with parked sends; returns how many went back to `webhook.send`. */
  async releaseRound(): Promise<number> {
    const info = await this.d.jsm.streams.info(WEBHOOKS_STREAM, { subjects_filter: `${PARKED_PREFIX}>` });
    let released = 0;
    for (const subject of Object.keys(info.state.subjects ?? {})) {
      const origin = originOf(subject);
      if (!origin) continue;
      released += await this.releaseFrom(subject, origin, this.d.destination(origin));
    }
    return released;
  }

  private async releaseFrom(subject: string, origin: string, dest: Destination): Promise<number> {
    // Sends parked again while this round runs (the breaker opened under the ones it let out) lie past this seq:
    // they wait for a later round instead of going straight back out, which made one round a release/park storm.
    const last = await this.lastSeq(subject);
    if (last === undefined) return 0;
    let batch = this.d.releaseBatch;
    let released = 0;
    for (let from = 1; from <= last; ) {
      const sm = await this.next(subject, from);
      if (!sm || sm.seq > last) return released;
      const headers = headerRecord(sm.header);
      const storedAt = Number(headers[Header.STORED_AT]) || sm.time.getTime();
      const expired = this.d.now() >= storedAt + this.d.maxAgeMs;
      // Asked before each send, not once a round: the breaker may have opened (or taken its probe) meanwhile.
      const allows = expired ? 'expired' : this.allows(origin, dest);
      if (allows === 'none' || (allows === 'batch' && batch <= 0)) return released;
      await publishDurable(this.d.js, 'webhook.send', sm.data, {
        msgID: `unpark.${sm.seq}`,
        headers: carried(headers, storedAt),
      });
      await this.remove(sm.seq);
      if (allows === 'batch') batch--;
      if (allows === 'probe') this.probeReleasedAt.set(origin, Date.now());
      released++;
      this.d.metrics?.webhookDeliveriesTotal.inc({ result: 'released' });
      from = sm.seq + 1;
    }
    return released;
  }

  /**
   * What the destination's breaker lets out now: a batch while closed, nothing while open, one probe while
   * half-open, and then none until that probe has had its chance: not while a probe is in flight, nor (a released
   * probe may still sit behind a backlog, or have gone to another replica) again in the same half-open period
   * before `probeRetryMs` has passed.
   */
  private allows(origin: string, dest: Destination): 'batch' | 'probe' | 'none' {
    if (dest.state === 'closed') return 'batch';
    if (dest.state === 'open' || dest.probing) return 'none';
    const last = this.probeReleasedAt.get(origin);
    const now = Date.now();
    if (last !== undefined && last >= dest.changedAt && now - last < this.d.probeRetryMs) return 'none';
    return dest.waitMs(now) === 0 ? 'probe' : 'none';
  }

  private async lastSeq(subject: string): Promise<number | undefined> {
    try {
      const sm = await this.d.jsm.streams.getMessage(WEBHOOKS_STREAM, { last_by_subj: subject });
      return sm.seq;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async next(subject: string, from: number) {
    try {
      // next_by_subj (nats-server 2.9): the first parked send of this destination at or after `from`
      return await this.d.jsm.streams.getMessage(WEBHOOKS_STREAM, { seq: from, next_by_subj: subject } as never);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async remove(seq: number): Promise<void> {
    try {
      await this.d.jsm.streams.deleteMessage(WEBHOOKS_STREAM, seq, false);
    } catch (err) {
      // Another replica released it first. Anything else: it is released again next round (same msg id).
      if (!isNotFound(err)) throw err;
    }
  }

  /** A round every `intervalMs` (after the previous one ended) until stopped; a failing round is logged and retried. */
  start(intervalMs: number): { stop(): Promise<void> } {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<unknown> = Promise.resolve();
    const round = () => {
      running = this.releaseRound()
        .then(
          (n) => n > 0 && this.d.log.info({ released: n }, 'parked webhooks released to webhook.send'),
          (err: unknown) => this.d.log.warn({ err }, 'releasing parked webhooks failed; the next round retries'),
        )
        .finally(schedule);
    };
    const schedule = () => {
      if (stopped) return;
      timer = setTimeout(round, intervalMs);
      timer.unref();
    };
    schedule();
    return {
      stop: async () => {
        stopped = true;
        clearTimeout(timer);
        await running;
      },
    };
  }
}

/** The send's own headers (trace context, correlation, replay), a fresh Nats-Msg-Id, and when it was first stored. */
function carried(headers: Record<string, string>, storedAt: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() !== 'nats-msg-id') out[k] = v;
  out[Header.STORED_AT] = String(storedAt);
  return out;
}
