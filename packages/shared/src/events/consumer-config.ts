import { AckPolicy, type ConsumerConfig, type ConsumerInfo, DeliverPolicy, type JetStreamManager, nanos } from 'nats';
import { isAlreadyInUse, isNotFound } from '../nats/errors.js';

export interface DurableSpec {
  stream: string;
  durable: string;
  subject: string;
  ackWaitMs: number;
  deliverPolicy: 'all' | 'new';
  maxAckPending?: number;
}

function desired(spec: DurableSpec): Partial<ConsumerConfig> & { durable_name: string } {
  return {
    durable_name: spec.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: spec.deliverPolicy === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
    filter_subject: spec.subject,
    ack_wait: nanos(spec.ackWaitMs),
    // The server never gives up on its own: a server-side limit stops redelivery silently.
    // The consumer counts deliveries itself and dead-letters on the last one.
    max_deliver: -1,
    ...(spec.maxAckPending ? { max_ack_pending: spec.maxAckPending } : {}),
  };
}

async function info(jsm: JetStreamManager, stream: string, durable: string): Promise<ConsumerInfo | undefined> {
  try {
    return await jsm.consumers.info(stream, durable);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

function drifted(current: ConsumerConfig, want: Partial<ConsumerConfig>): boolean {
  return (
    current.filter_subject !== want.filter_subject ||
    current.ack_wait !== want.ack_wait ||
    current.max_deliver !== want.max_deliver ||
    (want.max_ack_pending !== undefined && current.max_ack_pending !== want.max_ack_pending)
  );
}

/**
 * Creates the durable pull consumer, or updates the settable fields when they changed. Safe when
 * every replica does it at once (one creates, the others find it).
 */
export async function ensureDurable(jsm: JetStreamManager, spec: DurableSpec): Promise<ConsumerInfo> {
  const want = desired(spec);
  for (let attempt = 0; ; attempt++) {
    const current = await info(jsm, spec.stream, spec.durable);
    if (!current) {
      try {
        return await jsm.consumers.add(spec.stream, want);
      } catch (err) {
        if (isAlreadyInUse(err) && attempt < 3) continue;
        throw err;
      }
    }
    if (!drifted(current.config, want)) return current;
    const { durable_name: _d, deliver_policy: _p, ack_policy: _a, ...updatable } = want;
    return await jsm.consumers.update(spec.stream, spec.durable, { ...current.config, ...updatable });
  }
}
