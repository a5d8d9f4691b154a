import { startHttpReceiver, waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DestinationSlots, perDestinationCap } from '../src/destination-slots.js';
import { type Harness, startHarness } from './harness.js';

const CONCURRENCY = 16;
const CAP = perDestinationCap(CONCURRENCY, 32);
let h: Harness;

beforeAll(async () => {
  // A timeout and breaker that never end the hang on their own: only the cap can keep the others moving.
  h = await startHarness({
    WEBHOOKS_CONCURRENCY: String(CONCURRENCY),
    WEBHOOKS_TIMEOUT: '60s',
    WEBHOOKS_BREAKER_THRESHOLD: '1000',
  });
});
afterAll(async () => {
  await h?.stop();
});

async function statusOf(id: string): Promise<{ status: string; attempts: number }> {
  return (await h.api('GET', `/api/webhooks/${id}`)).body;
}

describe('deliveries in flight per destination', () => {
  it('are capped: a hanging destination with a backlog leaves room for the others, and loses or repeats nothing', async () => {
    let answer: () => void = () => {};
    const answered = new Promise<void>((r) => (answer = r));
    const hanging = await startHttpReceiver(async () => {
      await answered;
      return { status: 200 };
    });
    const healthy = await startHttpReceiver(() => ({ status: 200 }));
    const stuck = Array.from({ length: 4 * CONCURRENCY }, (_, i) => `hang-${i}`);
    for (const id of stuck) {
      await h.api('POST', '/api/webhooks', { id, url: `${hanging.url}/s`, eventType: 't', payload: { id } });
    }
    await waitFor(() => hanging.requests.length >= CAP, 10_000);

    await h.api('POST', '/api/webhooks', { id: 'healthy', url: `${healthy.url}/s`, eventType: 't', payload: {} });
    await waitFor(async () => (await statusOf('healthy')).status === 'delivered', 10_000);
    // delivered while every hanging one still waits, no more of them on the wire than the cap
    expect(hanging.requests).toHaveLength(CAP);
    const waiting = await Promise.all(stuck.map(statusOf));
    expect(waiting.filter((s) => s.status === 'delivered')).toHaveLength(0);
    // those turned away by the cap have not begun an attempt
    expect(waiting.filter((s) => s.attempts > 0)).toHaveLength(CAP);

    answer();
    await waitFor(async () => (await Promise.all(stuck.map(statusOf))).every((s) => s.status === 'delivered'), 30_000);
    // each sent once, with one attempt: waiting for a slot neither lost nor repeated anything
    expect(hanging.requests.map((r) => r.headers['webhook-id']).sort()).toEqual([...stuck].sort());
    for (const s of await Promise.all(stuck.map(statusOf))) expect(s.attempts).toBe(1);
    expect(h.events.of('webhook.attempt-failed')).toHaveLength(0);
    await Promise.all([hanging.close(), healthy.close()]);
  }, 60_000);
});

describe('DestinationSlots', () => {
  it('hands out up to the cap per origin, each slot released once', () => {
    const slots = new DestinationSlots(2);
    const a1 = slots.take('http://a');
    const a2 = slots.take('http://a');
    expect(a1 && a2).toBeTruthy();
    expect(slots.take('http://a')).toBeUndefined();
    expect(slots.take('http://b')).toBeTruthy();
    a1?.();
    a1?.(); // a second release of the same slot frees nothing more
    expect(slots.inFlight('http://a')).toBe(1);
    expect(slots.take('http://a')).toBeTruthy();
    expect(slots.take('http://a')).toBeUndefined();
  });

  it('caps at a quarter of the concurrency and at most the connections per origin', () => {
    expect(perDestinationCap(64, 32)).toBe(16);
    expect(perDestinationCap(256, 32)).toBe(32);
    expect(perDestinationCap(2, 32)).toBe(1);
  });
});
