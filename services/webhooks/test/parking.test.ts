import { collectEvents, startHttpReceiver, waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

// A window this small fills at once if waiting webhooks hold it: in production it is 50,000, which a destination
// that is down over a weekend reaches at one webhook every five seconds.
const WINDOW = 4;
const MAX_AGE_MS = 3_000;
let h: Harness;
/** Same, with a breaker that stays open far longer than a webhook may live. */
let longOpen: Harness;

beforeAll(async () => {
  [h, longOpen] = await Promise.all([
    startHarness(
      { WEBHOOKS_BREAKER_THRESHOLD: '2', WEBHOOKS_BREAKER_RESET: '1500ms', WEBHOOKS_MAX_RETRIES: '20' },
      { maxAckPending: WINDOW },
    ),
    startHarness(
      { WEBHOOKS_BREAKER_THRESHOLD: '1', WEBHOOKS_BREAKER_RESET: '10m', WEBHOOKS_MAX_AGE: `${MAX_AGE_MS}ms` },
      { maxAckPending: WINDOW },
    ),
  ]);
});
afterAll(async () => {
  await Promise.all([h?.stop(), longOpen?.stop()]);
});

async function parkedCount(on = h): Promise<number> {
  const jsm = await on.nc.jetstreamManager();
  const info = await jsm.streams.info('VIGIL_WEBHOOKS', { subjects_filter: 'webhook.parked.>' });
  return Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
}

async function statusOf(id: string): Promise<string> {
  return (await h.api('GET', `/api/webhooks/${id}`)).body.status;
}

describe('webhooks for a destination that is down', () => {
  it('wait parked outside the queue: other destinations keep getting theirs, and all arrive once it is back', async () => {
    const breakers = collectEvents(h.nc, 'breaker.>');
    const down = await startHttpReceiver(() => ({ status: 200 }));
    await down.close(); // connection refused until it starts again
    const waiting = Array.from({ length: 6 * WINDOW }, (_, i) => `down-${i}`);
    for (const id of waiting) {
      const res = await h.api('POST', '/api/webhooks', { id, url: down.url, eventType: 't', payload: { id } });
      expect(res.status).toBe(202);
    }
    await breakers.waitFor('breaker.opened', 1, 10_000);
    // Every one of them left the consumer's window for the parking lot (a few may be on their way back as probes).
    await waitFor(async () => (await parkedCount()) >= waiting.length - 2, 15_000);
    // the status API says why a webhook waits (not a retry time long past)
    const parkedStatus = await waitFor(async () => {
      const all = await Promise.all(waiting.map(async (id) => (await h.api('GET', `/api/webhooks/${id}`)).body));
      return all.find((st) => st.waitingFor);
    }, 5_000);
    expect(parkedStatus).toMatchObject({
      status: expect.stringMatching(/^(pending|failed)$/),
      waitingFor: expect.stringContaining('breaker open'),
      parkedAt: expect.any(String),
    });
    expect(parkedStatus.nextAttemptAt).toBeUndefined();

    const healthy = await startHttpReceiver(() => ({ status: 200 }));
    const others = Array.from({ length: 3 * WINDOW }, (_, i) => `up-${i}`);
    for (const id of others) {
      await h.api('POST', '/api/webhooks', { id, url: healthy.url, eventType: 't', payload: { id } });
    }
    await waitFor(async () => (await Promise.all(others.map(statusOf))).every((s) => s === 'delivered'), 10_000);
    expect(new Set(healthy.requests.map((r) => r.headers['webhook-id']))).toEqual(new Set(others));
    expect(down.requests).toHaveLength(0);

    await down.start();
    await waitFor(async () => (await Promise.all(waiting.map(statusOf))).every((s) => s === 'delivered'), 30_000);
    // each exactly once: releasing never sends a webhook twice
    expect(down.requests.map((r) => r.headers['webhook-id']).sort()).toEqual([...waiting].sort());
    expect((await h.api('GET', `/api/webhooks/${waiting[0]}`)).body.waitingFor).toBeUndefined();
    await waitFor(async () => (await parkedCount()) === 0, 5_000);
    expect(h.events.of('webhook.dead')).toHaveLength(0);
    const jsm = await h.nc.jetstreamManager();
    expect((await jsm.consumers.info('VIGIL_WEBHOOKS', 'webhooks')).num_ack_pending).toBe(0);
    breakers.stop();
    await healthy.close();
    await down.close();
  }, 60_000);

  it('that outlive WEBHOOKS_MAX_AGE while parked are announced dead on time, although the breaker never half-opens', async () => {
    const down = await startHttpReceiver(() => ({ status: 200 }));
    await down.close();
    const ids = ['old-1', 'old-2', 'old-3'];
    const sentAt = Date.now();
    // all at once: the ones the breaker turns away mid-send (another tripped it) must be parked too, not held back
    // for the breaker's whole reset period
    await Promise.all(
      ids.map((id) => longOpen.api('POST', '/api/webhooks', { id, url: down.url, eventType: 't', payload: { id } })),
    );
    const dead = await waitFor(() => {
      const d = longOpen.events.of('webhook.dead');
      return d.length === ids.length ? d : undefined;
    }, 15_000);
    const diedAfter = Date.now() - sentAt;
    // the age counts from the first send, not from when it was parked or released
    expect(diedAfter).toBeGreaterThanOrEqual(MAX_AGE_MS - 250);
    expect(diedAfter).toBeLessThan(MAX_AGE_MS + 4_000);
    expect(dead.map((e) => e.event.data.id).sort()).toEqual(ids);
    for (const e of dead) expect(e.event.data.error).toMatchObject({ type: 'VIGIL_E_WEBHOOK_EXPIRED' });
    expect(await parkedCount(longOpen)).toBe(0);
    const dlq = (await longOpen.api('GET', '/api/dlq?subject=webhook.send')).body.entries as unknown[];
    expect(dlq).toHaveLength(ids.length);
  }, 30_000);
});
