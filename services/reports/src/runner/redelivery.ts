import { type Clock, type JobRun, type Logger, retry } from '@vigil/shared';
import { RecentRuns, type RecentRun } from './recent-runs.js';
import type { RunEventsOut } from './run-events-out.js';
import { terminalEvent } from './run-event.js';
import type { DoneRecord, RunJournal, RunSummary } from './run-journal.js';
import type { RunSlot } from './run-slot.js';

/** Deliveries during which a run claimed by a live replica is left to it before being taken over. */
const MAX_DEFERRALS = 5;
/**
 * How many finished runs a replica remembers, per generation (two generations). Small on purpose: records kept
 * longer than a few young-generation collections get promoted, and promoting every run's event was a large GC
 * cost; the journal answers for older runs.
 */
const RECENT_DONE = 1_000;
/**
 * nats-server acknowledges a write before it reaches the disk, so a kill -9 can drop what it acknowledged
 * shortly before (terminal events, journal pages, consumer acks). Runs finished this long before an outage
 * are recorded again after it.
 */
const RESTORE_BEFORE_OUTAGE_MS = 5_000;
/** At most this many runs are written again, in chunks (a journal page must stay well under 1 MB). */
const RESTORE_MAX_RUNS = 2 * RECENT_DONE;
const RESTORE_CHUNK = 100;
/** Re-published terminal events must still be inside JetStream's duplicate window (2 min) to be dropped as copies. */
const RESTORE_MAX_AGE_MS = 90_000;

export interface RedeliveryDeps {
  journal: RunJournal;
  out: RunEventsOut;
  log: Logger;
  clock: Clock;
  ackWaitMs: number;
  stopping: () => boolean;
}

/**
 * Keeps a run from executing twice when its request comes back: a redelivery (ack lost, replica died, broker
 * restarted with older consumer state) is answered from the journal — finished runs get their terminal event
 * re-published and are acked; runs a live replica still holds are left to it.
 */
export class Redelivery {
  private readonly recent = new RecentRuns(RECENT_DONE);
  private suspectUntil = 0;
  private disconnectedAt?: number;

  constructor(private readonly d: RedeliveryDeps) {}

  /** Whether this delivery must be checked against the journal before it runs. */
  suspect(slot: RunSlot): boolean {
    // After the broker restarted, its consumer state may be older than its streams: runs already finished
    // come back as first deliveries. So every delivery in that window is checked like a redelivery.
    return slot.msg.info.redelivered || this.recent.has(slot.seq) || this.d.clock.now() < this.suspectUntil;
  }

  remember(seq: number, run: RecentRun): void {
    this.recent.add(seq, run);
  }

  /** The connection to the broker was lost (it may be restarting and dropping its last writes). */
  brokerLost(): void {
    this.disconnectedAt ??= this.d.clock.now();
  }

  /**
   * The broker is back (possibly restarted from disk): for a while, treat every delivery as a possible repeat,
   * and write again what it may have lost of the runs finished just before it went away.
   */
  brokerBack(forMs: number): void {
    this.suspectUntil = Math.max(this.suspectUntil, this.d.clock.now() + forMs);
    this.d.log.warn({ forMs }, 'broker reconnected: checking every delivery against the journal for a while');
    const since = (this.disconnectedAt ?? this.d.clock.now()) - RESTORE_BEFORE_OUTAGE_MS;
    this.disconnectedAt = undefined;
    void this.restoreRecent(since);
  }

  /** A suspect delivery: true when it was handled here (finished before: re-published and acked; or deferred). */
  async handled(slot: RunSlot): Promise<boolean> {
    const { seq, runId: wanted } = slot;
    // Records are keyed by stream sequence, but a sequence can come back for another run (a broker restart that
    // lost the stream's unsynced tail reuses it): only records of this run id count; another run's are ignored.
    const remembered = this.recent.get(seq);
    const mine = remembered?.runId === wanted ? remembered : undefined;
    const found = mine
      ? { claims: [], done: { runId: mine.runId, summary: mine.summary } }
      : await this.d.journal.lookup(seq, wanted);
    if (found.done) {
      const { runId } = found.done;
      const { subject, msgId, event } = found.done.record ?? rebuild(slot.req, found.done.summary as RunSummary);
      await this.d.out.publish(subject, event, msgId, slot.msg, runId);
      slot.msg.ack();
      this.d.log.info(
        {
          runId,
          seq,
          // A first delivery here means the broker lost the ack (kill -9 before its consumer state was written).
          deliveryCount: slot.msg.info.deliveryCount,
          from: mine ? 'memory' : 'journal',
        },
        'redelivered run had finished: terminal event re-published, not executed',
      );
      return true;
    }
    const foreign = found.claims.filter((c) => c.instance !== this.d.journal.instance).sort((a, b) => b.at - a.at);
    if (foreign.length > 0 && slot.msg.info.deliveryCount <= MAX_DEFERRALS) {
      // Redelivered although its owner is alive (a stalled event loop missed heartbeats): let the owner
      // finish instead of running it twice. Bounded: an owner that lost the run is taken over eventually.
      const alive = await this.d.journal.aliveAt(foreign[0].instance);
      if (alive !== undefined && this.d.clock.now() - alive < (this.d.ackWaitMs * 2) / 3) {
        this.d.log.warn(
          { runId: slot.runId, seq, owner: foreign[0].instance },
          'redelivered run is still owned by a live replica; deferring',
        );
        slot.msg.nak(this.d.ackWaitMs);
        return true;
      }
    }
    if (found.claims.length > 0) {
      this.d.log.warn(
        { runId: slot.runId, seq, claims: found.claims },
        'taking over a run whose replica stopped before finishing',
      );
    }
    return false;
  }

  /**
   * Writes again the done records (so a replica that gets such a run redelivered finds it finished) and the
   * terminal events (same Nats-Msg-Id: JetStream drops the ones it kept, restores the ones it lost) of the runs
   * finished since `since`.
   */
  private async restoreRecent(since: number): Promise<void> {
    const now = this.d.clock.now();
    const runs = this.recent.since(Math.max(since, now - RESTORE_MAX_AGE_MS + 1), RESTORE_MAX_RUNS);
    if (runs.length === 0) return;
    let restored = 0;
    try {
      for (let i = 0; i < runs.length && !this.d.stopping(); i += RESTORE_CHUNK) {
        const chunk = runs.slice(i, i + RESTORE_CHUNK);
        await retry(() => Promise.all(chunk.map(([seq, r]) => this.d.journal.complete(seq, r.runId, r.summary))), {
          max: 5,
          base: 200,
          cap: 2_000,
          shouldRetry: () => !this.d.stopping(),
        });
        await Promise.all(
          chunk.map(async ([, r]) => {
            const { subject, msgId, event } = rebuild(r.req, r.summary);
            const ack = await this.d.out.publish(subject, event, msgId, undefined, r.runId);
            if (!ack.duplicate) restored++;
          }),
        );
      }
      this.d.log.info(
        { runs: runs.length, restored },
        'records of runs finished before the broker outage written again',
      );
    } catch (err) {
      this.d.log.warn(
        { err, runs: runs.length, restored },
        'records of runs finished before the broker outage not (all) written again',
      );
    }
  }
}

/** The terminal event a finished run published, rebuilt from its request and its journal summary. */
function rebuild(req: JobRun, summary: RunSummary): DoneRecord {
  const outcome = summary.outcome ?? { status: summary.status };
  const event = terminalEvent(req, outcome, summary.attempts, summary.startedAt, summary.finishedAt, summary.id);
  return { subject: event.subject, msgId: `${req.runId}.${summary.status}`, event: JSON.stringify(event) };
}
