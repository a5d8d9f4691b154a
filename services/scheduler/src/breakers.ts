import { DeliverPolicy, type JetStreamClient, type ConsumerMessages } from 'nats';
import type { Logger } from '@vigil/shared';

export interface BreakerView {
  service: string;
  name: string;
  state: 'open' | 'half-open' | 'closed';
  since: string;
}

const STATE_OF: Record<string, BreakerView['state']> = { opened: 'open', 'half-open': 'half-open', closed: 'closed' };

/** Follows `breaker.>` on VIGIL_OPS (the last event per breaker first, then live), to list open breakers. */
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
      this.log.warn({ err }, 'cannot follow breaker events; open breakers will not be listed');
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
        try {
          const time = (m.json() as { time?: string }).time;
          if (time) since = time;
        } catch {
          // not a CloudEvent: keep the stream timestamp
        }
        this.latest.set(key, {
          seq: m.seq,
          view: { service, name: rest.join('.'), state: STATE_OF[verb] ?? 'open', since },
        });
      }
    })();
  }

  open(): BreakerView[] {
    return [...this.latest.values()].map((v) => v.view).filter((v) => v.state !== 'closed');
  }

  stop(): void {
    this.messages?.stop();
  }
}
