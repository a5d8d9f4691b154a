import { type Logger, retry } from '@vigil/shared';
import type { RunSlot } from './run-slot.js';

/**
 * A write after the handler ran failed (journal, terminal event): it is retried in place (heartbeating) rather
 * than re-running the handler, for as long as the broker is away: giving up would nak a run whose handler already
 * ran, and its redelivery (claimed by this replica, no done record) would execute it a second time. Only a
 * stopping replica gives up (a known limit: the run is executed again elsewhere).
 */
export function persistAfter<T>(
  err: unknown,
  slot: RunSlot,
  fn: () => Promise<T>,
  d: { stopping: () => boolean; log: Logger },
): Promise<T> {
  if (d.stopping()) return Promise.reject(err);
  d.log.warn({ err, runId: slot.runId }, 'recording run result failed; retrying');
  return retry(fn, {
    max: Number.POSITIVE_INFINITY,
    base: 200,
    cap: 5_000,
    shouldRetry: () => !d.stopping(),
    onRetry: (e, attempt) => {
      slot.msg.working();
      d.log.warn({ err: e, attempt, runId: slot.runId }, 'recording run result failed; retrying');
    },
  });
}
