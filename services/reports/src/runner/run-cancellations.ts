import { RunCancelledError } from './cancelled-error.js';

/** How long a cancel for a run not (yet) held here is remembered: it may still be queued in the stream. */
const REMEMBER_MS = 10 * 60_000;

/**
 * `job.cancel.<job>` for runs this replica does not hold yet: remembered, so the run is cancelled when its request
 * arrives instead of executing (a cancel and its request may cross, and another replica may hand the run over).
 */
export class RunCancellations {
  private readonly pending = new Map<string, { reason: string; until: number }>();

  remember(runId: string, reason: string, now = Date.now()): void {
    this.pending.set(runId, { reason, until: now + REMEMBER_MS });
  }

  /** The cancellation waiting for this run, as the error its outcome carries; undefined when there is none. */
  errorFor(runId: string): RunCancelledError | undefined {
    const c = this.pending.get(runId);
    return c ? new RunCancelledError(c.reason, { runId }) : undefined;
  }

  /** Forgets cancels older than REMEMBER_MS (called from the heartbeat). */
  sweep(now = Date.now()): void {
    for (const [id, c] of this.pending) if (c.until < now) this.pending.delete(id);
  }
}
