import { startHttpReceiver, waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

describe('status in Redis', () => {
  it('pending for 7 days while in flight, 30 minutes once delivered', async () => {
    const r = await startHttpReceiver(() => ({ status: 200, delayMs: 600 }));
    await h.api('POST', '/api/webhooks', { id: 'ttl-1', url: r.url, eventType: 't', payload: {} });
    const pending = (await h.api('GET', '/api/webhooks/ttl-1')).body;
    expect(pending).toMatchObject({ id: 'ttl-1', status: 'pending', attempts: expect.any(Number) });
    expect(await h.redis.ttl('vigil:webhook:ttl-1')).toBeGreaterThan(604_790);
    await waitFor(async () => (await h.api('GET', '/api/webhooks/ttl-1')).body.status === 'delivered');
    const ttl = await h.redis.ttl('vigil:webhook:ttl-1');
    expect(ttl).toBeGreaterThan(1790);
    expect(ttl).toBeLessThanOrEqual(1800);
    const s = (await h.api('GET', '/api/webhooks/ttl-1')).body;
    expect(s.totalMs).toBeGreaterThanOrEqual(600);
    expect(s.lastDurationMs).toBeGreaterThanOrEqual(590);
    await r.close();
  });

  it('cleanup removes expired and malformed entries and orphaned index members, repairs lost TTLs', async () => {
    const now = Date.now();
    await h.redis.hset('vigil:webhook:old-no-ttl', { status: 'delivered', deliveredAt: now - 2 * 3600_000 });
    await h.redis.hset('vigil:webhook:recent-no-ttl', { status: 'failed', updatedAt: now - 1000 });
    await h.redis.hset('vigil:webhook:malformed', { foo: 'bar' });
    await h.redis.zadd('vigil:webhooks:index', now, 'orphan-id', now, 'old-no-ttl');
    const keep = await h.redis.ttl('vigil:webhook:ttl-1');

    expect((await h.api('POST', '/api/webhooks/cleanup', undefined, null)).status).toBe(401);
    const res = await h.api('POST', '/api/webhooks/cleanup');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ removedExpired: 1, removedMalformed: 1, ttlRepaired: 1 });
    expect(res.body.indexOrphansRemoved).toBeGreaterThanOrEqual(2); // orphan-id and the removed old-no-ttl

    expect(await h.redis.exists('vigil:webhook:old-no-ttl', 'vigil:webhook:malformed')).toBe(0);
    const repaired = await h.redis.ttl('vigil:webhook:recent-no-ttl');
    expect(repaired).toBeGreaterThan(604_700);
    expect(await h.redis.zscore('vigil:webhooks:index', 'orphan-id')).toBeNull();
    // live entries are untouched
    expect(await h.redis.ttl('vigil:webhook:ttl-1')).toBeLessThanOrEqual(keep);
    expect(await h.redis.zscore('vigil:webhooks:index', 'ttl-1')).not.toBeNull();

    const again = await h.api('POST', '/api/webhooks/cleanup');
    expect(again.body).toMatchObject({
      removedExpired: 0,
      removedMalformed: 0,
      ttlRepaired: 0,
      indexOrphansRemoved: 0,
    });
  });

  it('Redis down: deliveries wait (nothing sent blind, nothing lost) and go out once it is back', async () => {
    const r = await startHttpReceiver(() => ({ status: 200 }));
    await h.redisServer.stop();
    await h.service.runtime.bus.publish('webhook.send', { id: 'redis-down', url: r.url, eventType: 't', payload: {} });
    // It is tried while Redis is away (the consumer counts a retry), and nothing is sent blind.
    await waitFor(async () => {
      const text = await (await fetch(`${h.service.url}/metrics`)).text();
      return /vigil_events_handled_total\{subject="webhook.send",result="retry"\} [1-9]/.test(text);
    }, 15_000);
    const ready = await fetch(`${h.service.url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(r.requests).toHaveLength(0);
    await h.redisServer.start();
    await waitFor(() => h.events.of('webhook.delivered').find((e) => e.event.data.id === 'redis-down'), 20_000);
    expect(r.requests).toHaveLength(1);
    await r.close();
  });
});
