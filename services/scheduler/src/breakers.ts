import { DeliverPolicy, type JetStreamClient, type ConsumerMessages } from 'nats';
import type { Logger, ServiceReadiness } from '@vigil/shared';

export interface BreakerView {
  service: string;
  /** The breaker's own name (e.g. `http-127.0.0.1:19999`), not the subject-token form of its events. */
  name: string;
  state: 'open' | 'half-open' | 'closed';
  since: string;
  /** When it last left closed (its re-opens after failed probes do not move it); absent from breaker events. */
  openSince?: string;
  /** The instance that has it; absent when it comes from breaker events (see BreakerTracker). */
  instance?: string;
}

/**
 * The breakers that are not closed on the service instances alive now, tagged with service and instance: what the
 * instances listed in their health answers. Only instances of a version whose answer lists no breakers fall back on
 * the last breaker events of their service. A service nobody answered for lists none: it has no live instance (it is
 * reported not ready instead), and the last event of a process that is gone says nothing about a breaker now.
 */
export function liveOpenBreakers(services: ServiceReadiness[], fallback: BreakerTracker): BreakerView[] {
  const out: BreakerView[] = [];
  for (const s of services) {
    const live = (s.openBreakers ?? []).map((b) => ({ service: s.service, ...b }));
    out.push(...live);
    // with old and new instances side by side, a breaker a new one reports live is not listed twice
    if (s.breakersUnknown?.length)
      out.push(...fallback.open(s.service).filter((f) => !live.some((b) => b.name === f.name)));
  }
  const key = (b: BreakerView) => `${b.service}\0${b.name}\0${b.instance ?? ''}`;
  return out.sort((a, b) => key(a).localeCompare(key(b)));
}

const STATE_OF: Record<string, BreakerView['state']> = { opened: 'open', 'half-open': 'half-open', closed: 'closed' };

/**
 * Follows `breaker.>` on VIGIL_OPS (the last event per breaker first, then live). Only a fallback for instances whose
 * health answer lists no breakers (older versions): a process that is replaced never publishes "closed", so the last
 * event can stay "open" forever.
 */
export class BreakerTracker {
  private readonly latest = new Map<string, { seq: number; view: BreakerView }>();
  private messages?: ConsumerMessages;

  constructor(
    private readonly js: JetStreamClient,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    try {
      const consumer = await this.js.consumers.get('VIGIL_OPS', {
        filterSubjects: 'breaker.>',
        deliver_policy: DeliverPolicy.LastPerSubject,
      });
      this.messages = await consumer.consume();
    } catch (err) {
      this.log.warn({ err }, 'cannot follow breaker events; breakers of older instances will not be listed');
      return;
    }
    const messages = this.messages;
    void (async () => {
      for await (const m of messages) {
        const [, verb, service, ...rest] = m.subject.split('.');
        const key = `${service}.${rest.join('.')}`;
        const prev = this.latest.get(key);
        if (prev && prev.seq > m.seq) continue;
        let since = new Date(Number(m.info.timestampNanos / 1_000_000)).toISOString();
        // the subject holds the name with non-token characters as _; the event's data has the real one
        let name = rest.join('.');
        try {
          const event = m.json() as { time?: string; data?: { name?: unknown } };
          if (typeof event.data?.name === 'string' && event.data.name) name = event.data.name;
          if (event.time) since = event.time;
        } catch {
          // not JSON: keep the subject's name and the stream timestamp
        }
        this.latest.set(key, { seq: m.seq, view: { service, name, state: STATE_OF[verb] ?? 'open', since } });
      }
    })();
  }

  /** Breakers whose last event is not "closed" (of one service when given). */
  open(service?: string): BreakerView[] {
    return [...this.latest.values()]
      .map((v) => v.view)
      .filter((v) => v.state !== 'closed' && (service === undefined || v.service === service));
  }

  stop(): void {
    this.messages?.stop();
  }
}
