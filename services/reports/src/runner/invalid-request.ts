import { deadLetter, type JetStreamPublisher, type Logger, type PulledMessage, type VigilMetrics } from '@vigil/shared';
import { RUNNER_DURABLE } from './run-intake.js';

export interface InvalidRequestDeps {
  publisher: JetStreamPublisher;
  log: Logger;
  metrics?: VigilMetrics;
}

/**
 * A `job.requested` that cannot be read is never retried (it would fail the same way): it goes to the dead-letter
 * stream with its reason and is terminated. Only if the dead-letter publish itself fails does the stream get it
 * back, a second later, so nothing is lost while the broker is unwell.
 */
export function refuseInvalidRequest(msg: PulledMessage, err: unknown, d: InvalidRequestDeps): void {
  d.log.error({ err, subject: msg.subject, seq: msg.info.streamSequence }, 'invalid run request: dead-lettered');
  deadLetter(d.publisher, msg, err, msg.info.deliveryCount, { metrics: d.metrics, consumer: RUNNER_DURABLE }).then(
    () => msg.term(),
    (e: unknown) => {
      d.log.error({ err: e }, 'dead-letter failed; will retry');
      msg.nak(1000);
    },
  );
}
