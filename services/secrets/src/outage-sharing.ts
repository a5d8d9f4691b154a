import type { CacheEntry, CacheHooks, OutageLedger, OutageRecord } from './cache-types.js';

/**
 * The cache's side of the outage ledger: one outage start, one `stale-served` announcement and one recovery per
 * secret across restarts and replicas. No answer waits on the ledger: joining an outage and claiming its
 * announcement happen in the background, so a stalled broker delays the announcement, never the secret. When the
 * ledger does not answer, or there is none, an outage lives in this instance's memory.
 */
export class OutageSharing {
  /** Joins under way, by secret: a claim or a recovery waits for the record its outage got. */
  private readonly joins = new Map<string, Promise<OutageRecord | undefined>>();

  constructor(
    private readonly deps: {
      ledger?: OutageLedger;
      hooks?: CacheHooks;
      now: () => number;
      /** The cache's current entry for a secret. */
      current: (name: string) => CacheEntry | undefined;
    },
  ) {}

  /** This instance's first failure of an outage (`entry.outageSince` set): continue the one already recorded. */
  begin(name: string, entry: CacheEntry): void {
    const { ledger } = this.deps;
    const at = entry.outageSince;
    if (!ledger || at === undefined) return;
    // the value it serves was fetched after a recorded outage began: that record's removal failed, it is not this one
    const joined = ledger.begin(name, at, entry.secret.fetchedAt).then(
      (record) => {
        const current = this.deps.current(name);
        // a value arrived meanwhile: the recovery takes the record from this join
        if (current?.outageSince !== undefined && !current.outageRecorded) {
          Object.assign(current, {
            outageSince: Math.min(record.since, current.outageSince),
            staleAnnounced: current.staleAnnounced || record.announced,
            outageRecorded: true,
            recordSince: record.since,
          });
        }
        return record;
      },
      () => undefined, // NATS away: this outage lives in memory
    );
    const settled: Promise<OutageRecord | undefined> = joined.finally(() => {
      if (this.joins.get(name) === settled) this.joins.delete(name);
    });
    this.joins.set(name, settled);
  }

  /** Whether this instance makes the outage's one announcement: whoever claims it in the ledger. */
  async claim(name: string): Promise<boolean> {
    const { ledger } = this.deps;
    if (!ledger) return true;
    await this.joins.get(name);
    const entry = this.deps.current(name);
    if (entry?.outageSince === undefined) return false; // it ended before the claim: its recovery speaks
    if (!entry.outageRecorded) return true; // never recorded (NATS away): announce rather than stay silent
    return ledger.announce(name, entry.recordSince ?? entry.outageSince).catch(() => true);
  }

  /** A value arrived; `previous` is the entry it replaced (none on this process's first value). */
  recovered(name: string, previous: CacheEntry | undefined): void {
    if (!this.deps.ledger) {
      this.announceRecovery(name, previous?.outageSince, previous?.staleAnnounced === true);
    } else if (!previous || previous.outageSince !== undefined) {
      // Also on the first value of this process: an outage recorded before a restart ends here.
      void this.end(name, previous);
    }
  }

  /** The provider says the secret does not exist: not an outage, its record goes without a recovery. */
  forget(name: string): void {
    void this.deps.ledger?.end(name).catch(() => undefined);
  }

  /** The shared record goes; whoever removes it announces the recovery, from the outage's first failure. */
  private async end(name: string, previous: CacheEntry | undefined): Promise<void> {
    // a join still under way when the value arrived: its record is this outage's
    const joined = await this.joins.get(name);
    const recordSince = previous?.recordSince ?? joined?.since;
    let record: OutageRecord | undefined;
    try {
      record = await this.deps.ledger?.end(name, recordSince);
    } catch {
      // NATS away: what this instance knows.
      this.announceRecovery(name, previous?.outageSince, previous?.staleAnnounced === true);
      return;
    }
    if (record) {
      const since = Math.min(record.since, previous?.outageSince ?? record.since);
      this.announceRecovery(name, since, record.announced || previous?.staleAnnounced === true);
    } else if (previous && !previous.outageRecorded && recordSince === undefined) {
      // Never recorded (NATS was away when it began): announced from memory.
      this.announceRecovery(name, previous.outageSince, previous.staleAnnounced === true);
    }
    // Recorded but gone: another instance saw the recovery first and announced it.
  }

  private announceRecovery(name: string, since: number | undefined, announced: boolean): void {
    if (!announced || since === undefined) return;
    const downForSeconds = Math.max(0, Math.round((this.deps.now() - since) / 1000));
    this.deps.hooks?.recovered?.({ name, downForSeconds });
  }
}
