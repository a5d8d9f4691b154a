import { type DigestLine, type DigestTiming, foldExpired } from './expired-digest.js';
import type { GroupStore } from './group-store.js';

interface Waiting {
  line: DigestLine;
  resolve: (r: Recorded) => void;
  reject: (err: unknown) => void;
}

export interface Recorded {
  /** When the digest is due: the follow-up timer to set. */
  dueAt?: number;
  /** Already in the digest (a redelivery): nothing was added. */
  duplicate: boolean;
}

/** Lines written in one compare-and-set at most (the entry keeps 50 lines whatever the batch). */
const MAX_BATCH = 500;

/**
 * Writes old alerts into the digest entry (KV, CAS), committing what arrived meanwhile together: after an outage
 * sixteen consumers per replica hand over old alerts at once, and one CAS each on the same key would conflict
 * until they gave up. One write in flight per replica keeps the conflicts to the replicas'. `record` resolves once
 * the line is stored: only then may its event be acked.
 */
export class DigestRecorder {
  private readonly queue: Waiting[] = [];
  private draining = false;

  constructor(
    private readonly o: {
      store: GroupStore;
      timing: DigestTiming;
      now: () => number;
    },
  ) {}

  record(line: DigestLine): Promise<Recorded> {
    return new Promise<Recorded>((resolve, reject) => {
      this.queue.push({ line, resolve, reject });
      if (!this.draining) {
        this.draining = true;
        void this.drain();
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length) {
        const batch = this.queue.splice(0, MAX_BATCH);
        try {
          const r = await this.o.store.applyDigest((state) => {
            const f = foldExpired(
              state,
              batch.map((w) => w.line),
              this.o.now(),
              this.o.timing,
            );
            return { next: f.next, result: f };
          });
          const dup = new Set(r.duplicates);
          for (const w of batch) w.resolve({ dueAt: r.dueAt, duplicate: dup.has(w.line.eventId) });
        } catch (err) {
          for (const w of batch) w.reject(err);
        }
      }
    } finally {
      this.draining = false;
    }
  }
}
