import { activeTraceContext, extractTraceContext, SpanKind, SpanStatusCode, withSpan } from '@vigil/shared';
import type { RunOutcome } from './run-outcome.js';
import type { RunSlot } from './run-slot.js';

/** A failed or partial run's span status message (error infos are scrubbed of secrets already). */
function outcomeMessage(outcome: RunOutcome): string {
  if (outcome.error) return outcome.error.message;
  const first = outcome.failures?.[0];
  const stats = outcome.stats;
  const counts = stats ? `${stats.failed} of ${stats.targets} targets failed` : 'targets failed';
  return first
    ? `${outcome.status}: ${counts} (${first.target}: ${first.error.message})`
    : `${outcome.status}: ${counts}`;
}

/**
 * With tracing on, a run is a span `run <job>` under the requester's trace, so the handler's outgoing calls and
 * the run's events join the incident's trace; a failed or partial run marks the span as an error.
 */
export function runInSpan(slot: RunSlot, process: (slot: RunSlot) => Promise<RunOutcome | undefined>): Promise<void> {
  const { req } = slot;
  return withSpan(
    `run ${req.job}`,
    async (span) => {
      slot.traceContext = activeTraceContext();
      const outcome = await process(slot);
      // withSpan marks only thrown errors; a run that failed (or partly) is an error in the trace too.
      if (outcome && outcome.status !== 'succeeded') {
        span.setStatus({ code: SpanStatusCode.ERROR, message: outcomeMessage(outcome) });
        span.setAttribute('vigil.status', outcome.status);
      }
    },
    {
      parent: extractTraceContext(slot.msg.headers),
      kind: SpanKind.CONSUMER,
      attributes: { 'vigil.run_id': req.runId, 'vigil.job': req.job, 'vigil.trigger': req.trigger },
    },
  );
}
