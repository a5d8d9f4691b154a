import type { NatsConnection, Subscription } from 'nats';
import { waitFor } from './wait-for.js';
import { headerRecord } from '../events/headers.js';

export interface CollectedEvent {
  subject: string;
  headers: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: events are checked field by field in tests
  event: any;
}

export interface EventCollector {
  events: CollectedEvent[];
  of(subjectPrefix: string): CollectedEvent[];
  waitFor(subjectPrefix: string, count?: number, timeoutMs?: number): Promise<CollectedEvent[]>;
  stop(): void;
}

/** Listens on core NATS (no consumer) and keeps every event seen on `subject`, parsed. */
export function collectEvents(nc: NatsConnection, subject = '>'): EventCollector {
  const events: CollectedEvent[] = [];
  const sub: Subscription = nc.subscribe(subject, {
    callback: (_err, msg) => {
      if (!msg || msg.subject.startsWith('$') || msg.subject.startsWith('_INBOX')) return;
      const headers = headerRecord(msg.headers);
      let event: unknown;
      try {
        event = JSON.parse(new TextDecoder().decode(msg.data));
      } catch {
        event = new TextDecoder().decode(msg.data);
      }
      events.push({ subject: msg.subject, headers, event });
    },
  });
  const of = (p: string) => events.filter((e) => e.subject === p || e.subject.startsWith(`${p}.`));
  return {
    events,
    of,
    waitFor: (p, count = 1, timeoutMs = 10_000) =>
      waitFor(() => (of(p).length >= count ? of(p) : undefined), {
        timeout: timeoutMs,
        message: `${count} event(s) on ${p}`,
      }),
    stop: () => sub.unsubscribe(),
  };
}
