import { type KvJsonDecision, updateKvJson } from '@vigil/shared';
import type { KV } from 'nats';
import type { OutageLedger, OutageRecord } from './cache-types.js';

/** JetStream KV bucket of the provider outages in progress (shared by replicas, kept across restarts). */
export const OUTAGES_BUCKET = 'vigil_secrets_outages';
/** Key of the warm-cycle flag: the last warm cycle (of any instance) had failures. */
export const WARM_KEY = 'warm';

const encoder = new TextEncoder();

/** `secret.<name>` with every character a KV key cannot hold (and `=`, `.`) written as `=XX` (hex). */
export function outageKey(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_/-]/g, (c) =>
    [...encoder.encode(c)].map((b) => `=${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
  return `secret.${safe}`;
}

/**
 * The warm cycles' shared memory: whether the last cycle (of any instance) failed, so the next good one reports
 * `recovered`, and only one: ending the failing state is a compare-and-set that one instance wins.
 */
export interface WarmLedger {
  warmFailing(): Promise<boolean>;
  /** Records that a cycle failed (kept as it is when already recorded). */
  markWarmFailing(): Promise<void>;
  /** Ends the failing state; true only for the call that ended it (the instance that reports the recovery). */
  endWarmFailing(): Promise<boolean>;
}

interface WarmRecord {
  failing: true;
  since: number;
}

/**
 * Outages in NATS KV: one record per failing secret, `{ since, announced }`, written with compare-and-set (create
 * only when absent, update and delete at the revision read) so two replicas, or a replica and its restarted
 * successor, agree on one start and one announcement. The record goes when the secret answers again. Every
 * operation is bounded by `timeoutMs`.
 */
export class KvOutageLedger implements OutageLedger, WarmLedger {
  constructor(
    private readonly kv: KV,
    private readonly opts: { timeoutMs?: number; attempts?: number } = {},
  ) {}

  begin(name: string, at: number, answeredAt?: number): Promise<OutageRecord> {
    return this.apply<OutageRecord, OutageRecord>(outageKey(name), (current) => {
      if (current && (answeredAt === undefined || current.since >= answeredAt)) return { result: current };
      const fresh = { since: at, announced: false };
      return { next: fresh, result: fresh };
    });
  }

  announce(name: string, _since: number): Promise<boolean> {
    return this.apply<OutageRecord, boolean>(outageKey(name), (current) => {
      // no record: the outage ended meanwhile (a recovery removed it); writing one now would outlive it
      if (!current || current.announced) return { result: false };
      return { next: { ...current, announced: true }, result: true };
    });
  }

  end(name: string, since?: number): Promise<OutageRecord | undefined> {
    return this.apply<OutageRecord, OutageRecord | undefined>(outageKey(name), (current) =>
      current && (since === undefined || current.since === since)
        ? { next: null, result: current }
        : { result: undefined },
    );
  }

  warmFailing(): Promise<boolean> {
    return this.apply<WarmRecord, boolean>(WARM_KEY, (current) => ({ result: current !== undefined }));
  }

  async markWarmFailing(): Promise<void> {
    await this.apply<WarmRecord, void>(WARM_KEY, (current) =>
      current ? { result: undefined } : { next: { failing: true, since: Date.now() }, result: undefined },
    );
  }

  endWarmFailing(): Promise<boolean> {
    // Deleted at the revision read: of two instances ending it at once, the other's delete fails, it reads
    // again, finds no record and answers false.
    return this.apply<WarmRecord, boolean>(WARM_KEY, (current) =>
      current ? { next: null, result: true } : { result: false },
    );
  }

  /**
   * Read, decide, write at the revision read; a concurrent writer makes the write fail and the loop reads again.
   * `next: null` deletes, `next: undefined` leaves the record as it is. A deleted record keeps a revision too:
   * writing at it keeps a concurrent create out.
   */
  private apply<T, R>(key: string, fn: (current: T | undefined) => KvJsonDecision<T, R>): Promise<R> {
    return updateKvJson(this.kv, key, fn, {
      attempts: this.opts.attempts ?? 10,
      // No answer waits on these calls (the cache joins and claims in the background), so the bound is for a NATS
      // that is away: past it the operation fails at once (KvTimeoutError, not retried) and the cache goes on with
      // what it knows. Generous, so a busy broker does not make two replicas announce one outage twice.
      timeoutMs: this.opts.timeoutMs ?? 2_000,
      // any other failed write is read again (a conflict, or a write whose answer was lost)
      retryIf: () => true,
      what: 'outage ledger',
    });
  }
}
