import type { KV, KvEntry } from 'nats';
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
 * operation is bounded by `timeoutMs`: a request answered from the stale cache never waits long on NATS.
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

  async warmFailing(): Promise<boolean> {
    const e = await this.bounded(this.kv.get(WARM_KEY));
    return e?.operation === 'PUT';
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
   * `next: null` deletes, `next: undefined` leaves the record as it is.
   */
  private async apply<T, R>(key: string, fn: (current: T | undefined) => { next?: T | null; result: R }): Promise<R> {
    const attempts = this.opts.attempts ?? 10;
    let lastErr: unknown;
    for (let i = 0; i < attempts; i++) {
      const e: KvEntry | null = await this.bounded(this.kv.get(key));
      const live = e?.operation === 'PUT' ? e : undefined;
      const { next, result } = fn(live ? live.json<T>() : undefined);
      if (next === undefined) return result;
      try {
        if (next === null) {
          if (live) await this.bounded(this.kv.delete(key, { previousSeq: live.revision }));
        } else if (!e) {
          await this.bounded(this.kv.create(key, encoder.encode(JSON.stringify(next))));
        } else {
          // A deleted record keeps a revision too: writing at it keeps a concurrent create out.
          await this.bounded(this.kv.update(key, encoder.encode(JSON.stringify(next)), e.revision));
        }
        return result;
      } catch (err) {
        if (err instanceof LedgerTimeout) throw err;
        lastErr = err; // another instance wrote first: read again
      }
    }
    throw lastErr instanceof Error ? lastErr : new Error(`outage record ${key}: updates kept conflicting`);
  }

  private bounded<T>(p: Promise<T>): Promise<T> {
    // Short: these calls sit on the path of a secrets.get answered from the stale cache (client timeout 2 s).
    const ms = this.opts.timeoutMs ?? 250;
    let timer: ReturnType<typeof setTimeout> | undefined;
    return Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new LedgerTimeout(ms)), ms);
      }),
    ]).finally(() => clearTimeout(timer));
  }
}

class LedgerTimeout extends Error {
  constructor(ms: number) {
    super(`outage ledger: NATS KV did not answer within ${ms}ms`);
    this.name = 'LedgerTimeout';
  }
}
