import { waitFor } from '@vigil/shared/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from './harness.js';
import { workerKit } from './worker-kit.js';

const kit = workerKit();
let h: Harness;
beforeAll(() => {
  h = kit.harness();
});

/** Answers the first request with `first` after stopping Redis (back 800 ms later): a blip during the settle. */
async function blipReceiver(first: { status: number; headers?: Record<string, string> }) {
  let back = false;
  const r = await kit.receiver(async (_req, i) => {
    if (i > 0) return { status: 200 };
    await h.redisServer.stop();
    setTimeout(() => {
      void h.redisServer.start().then(() => {
        back = true;
      });
    }, 800);
    return first;
  });
  return { r, restarted: () => waitFor(() => back, 15_000) };
}

const drained = () => kit.drained(20_000);

const eventsFor = (subject: string, id: string) => h.events.of(subject).filter((e) => e.event.data.id === id);

describe('a Redis blip while settling', () => {
  it('delivered: recorded once Redis is back, never POSTed again', async () => {
    const { r, restarted } = await blipReceiver({ status: 200 });
    await h.api('POST', '/api/webhooks', { id: 'blip-ok', url: r.url, eventType: 't', payload: {} });
    await waitFor(() => eventsFor('webhook.delivered', 'blip-ok').length === 1, 15_000);
    await restarted();
    await waitFor(
      async () => (await h.redis.hget('vigil:webhook:blip-ok', 'status').catch(() => null)) === 'delivered',
    );
    await drained();
    expect(r.requests).toHaveLength(1);
  });

  it("retry: the receiver's Retry-After still decides when the next attempt goes", async () => {
    const { r, restarted } = await blipReceiver({ status: 429, headers: { 'retry-after': '3' } });
    await h.api('POST', '/api/webhooks', { id: 'blip-429', url: r.url, eventType: 't', payload: {} });
    await restarted();
    await waitFor(() => eventsFor('webhook.delivered', 'blip-429').length === 1, 20_000);
    expect(r.requests).toHaveLength(2);
    expect(r.requests[1].at - r.requests[0].at).toBeGreaterThanOrEqual(3000);
    const [failed] = eventsFor('webhook.attempt-failed', 'blip-429');
    expect(Date.parse(failed.event.data.nextAttemptAt) - Date.parse(failed.event.data.at)).toBe(3000);
  });

  it('dead: no attempt past the outcome; dead-lettered once', async () => {
    const { r, restarted } = await blipReceiver({ status: 400 });
    await h.api('POST', '/api/webhooks', { id: 'blip-dead', url: r.url, eventType: 't', payload: {} });
    const dead = await waitFor(() => eventsFor('webhook.dead', 'blip-dead')[0], 15_000);
    expect(dead.event.data).toMatchObject({ attempts: 1, status: 400 });
    await restarted();
    await drained();
    expect(r.requests).toHaveLength(1);
    expect(await h.redis.hget('vigil:webhook:blip-dead', 'status')).toBe('dead');
  });
});
