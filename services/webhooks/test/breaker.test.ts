import { collectEvents, startHttpReceiver, waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

const RESET_MS = 1500;
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ WEBHOOKS_BREAKER_RESET: `${RESET_MS}ms`, WEBHOOKS_BACKOFF_BASE: '100ms' });
});
afterAll(async () => {
  await h?.stop();
});

describe('per-destination breaker', () => {
  it('opens after 5 consecutive failures, sends nothing while open, closes on a good probe; waits burn no attempts', async () => {
    const breakerEvents = collectEvents(h.nc, 'breaker.>');
    const r = await startHttpReceiver(() => ({ status: 200 }));
    await r.close(); // the receiver is down: connection refused

    const ids = ['b1', 'b2', 'b3', 'b4', 'b5', 'b6'];
    for (const id of ids) {
      expect((await h.api('POST', '/api/webhooks', { id, url: r.url, eventType: 't', payload: { id } })).status).toBe(
        202,
      );
    }
    const opened = await breakerEvents.waitFor('breaker.opened', 1, 10_000);
    const openedSeenAt = Date.now();
    expect(opened[0].subject).toMatch(/^breaker\.opened\.webhooks\.http___127_0_0_1_\d+$/);
    expect(opened[0].event.data).toMatchObject({ service: 'webhooks', state: 'open', failures: 5 });
    // the alert says what the receiver did, not a generic "destination failure"
    expect(opened[0].event.data.error).toMatchObject({
      class: 'transient',
      message: expect.stringMatching(/^ECONNREFUSED: /),
    });

    await r.start(); // back up, but the breaker keeps traffic away until its reset time
    await breakerEvents.waitFor('breaker.closed', 1, 10_000);
    const halfOpen = breakerEvents.of('breaker.half-open');
    expect(halfOpen.length).toBeGreaterThanOrEqual(1);

    await waitFor(async () => {
      const all = await Promise.all(ids.map(async (id) => (await h.api('GET', `/api/webhooks/${id}`)).body.status));
      return all.every((s) => s === 'delivered');
    }, 15_000);
    // nothing reached the receiver while the breaker was open
    const earliest = Math.min(...r.requests.map((q) => q.at));
    expect(earliest).toBeGreaterThanOrEqual(openedSeenAt + RESET_MS - 250);
    expect(new Set(r.requests.map((q) => q.headers['webhook-id'])).size).toBe(ids.length);

    // the breaker was open far longer than 3 retries of backoff (0.1 + 0.2 + 0.4 s): waiting did not burn attempts
    // Only attempts that reached the network count: the failures that opened the breaker (plus retries that fell
    // due before it opened, when the six sends were spread out on a loaded machine) and one success each.
    const statuses = await Promise.all(ids.map(async (id) => (await h.api('GET', `/api/webhooks/${id}`)).body));
    const failed = h.events.of('webhook.attempt-failed');
    const failedAttempts = failed.length;
    expect(failedAttempts).toBeGreaterThanOrEqual(5);
    expect(failed.filter((e) => Date.parse(e.event.time) > openedSeenAt)).toHaveLength(0);
    expect(failedAttempts).toBeLessThanOrEqual(2 * ids.length);
    expect(statuses.reduce((n, s) => n + s.attempts, 0)).toBe(failedAttempts + ids.length);
    expect(h.events.of('webhook.dead')).toHaveLength(0);
    const metrics = await (await fetch(`${h.service.url}/metrics`)).text();
    expect(metrics).toMatch(
      new RegExp(`vigil_breaker_state\\{service="webhooks",name="http://127.0.0.1:${r.port}"\\} 0`),
    );
    breakerEvents.stop();
    await r.close();
  });

  it('a webhook that dies behind a breaker that opened: its dead letter counts its attempts, not the last copy', async () => {
    const r = await startHttpReceiver(() => ({ status: 500 }));
    const ids = ['dl-a', 'dl-b'];
    for (const id of ids) await h.api('POST', '/api/webhooks', { id, url: r.url, eventType: 't', payload: { id } });
    // 2 × 4 attempts: the breaker opens at the 5th failure, so the rest go out from parked copies (deliveries 1)
    await waitFor(() => ids.every((id) => h.events.of('webhook.dead').some((e) => e.event.data.id === id)), 30_000);
    const entries = await waitFor(async () => {
      const all = await h.service.runtime.bus.listDlq({ subject: 'webhook.send' });
      const mine = all.filter((e: any) => ids.includes(e.data?.data?.id));
      return mine.length === ids.length ? mine : undefined;
    });
    expect(entries.map((e) => e.deliveries)).toEqual([4, 4]);
    expect(r.requests).toHaveLength(8);
    await r.close();
  }, 40_000);
});
