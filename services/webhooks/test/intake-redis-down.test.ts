import { createHttpApp, createLogger, createRegistry, WebhookSendSchema } from '@vigil/shared';
import { waitFor } from '@vigil/shared/testing';
import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerRoutes } from '../src/http-routes.js';
import { StatusStore } from '../src/status-store.js';
import { type Harness, TOKEN } from './harness.js';
import { workerKit } from './worker-kit.js';

// POST /api/webhooks with the service's Redis down (kill -9, as found live: 2 of 60 posts got 500 VIGIL_E_UNEXPECTED).
const kit = workerKit();
let h: Harness;
beforeAll(() => {
  h = kit.harness();
});

const eventsFor = (subject: string, id: string) => h.events.of(subject).filter((e) => e.event.data.id === id);

/** Redis back, and the service's own client connected again (its readiness check pings it). */
async function redisBack(): Promise<void> {
  await h.redisServer.start();
  await waitFor(async () => (await fetch(`${h.service.url}/health/ready`)).status === 200, 15_000);
}

describe('POST /api/webhooks while Redis is down', () => {
  it('answers 503 VIGIL_E_TRANSIENT "Redis unavailable …; retry", queues nothing; the retry is delivered once', async () => {
    const r = await kit.receiver(() => ({ status: 200 }));
    await h.redisServer.kill();
    try {
      const withId = await h.api('POST', '/api/webhooks', { id: 'down-1', url: r.url, eventType: 't', payload: {} });
      const withoutId = await h.api('POST', '/api/webhooks', { url: r.url, eventType: 't', payload: { n: 2 } });
      for (const res of [withId, withoutId]) {
        expect(res.status).toBe(503);
        expect(res.body.error.code).toBe('VIGIL_E_TRANSIENT');
        expect(res.body.error.message).toMatch(/^Redis unavailable: .+; retry$/);
      }
    } finally {
      await redisBack();
    }
    // Nothing was queued for either: nothing arrives, no status is written.
    await kit.drained(10_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(r.requests).toHaveLength(0);
    expect(await h.redis.exists('vigil:webhook:down-1')).toBe(0);

    // The client does what a 503 asks: retries, and the webhook goes exactly once.
    const retry = await h.api('POST', '/api/webhooks', { id: 'down-1', url: r.url, eventType: 't', payload: {} });
    expect(retry).toMatchObject({ status: 202, body: { id: 'down-1', status: 'pending' } });
    await waitFor(() => eventsFor('webhook.delivered', 'down-1').length === 1, 15_000);
    await kit.drained(10_000);
    expect(r.requests).toHaveLength(1);
  });
});

describe('Redis lost between the publish and the status write', () => {
  /**
   * A second intake (as another replica's) on the same NATS and Redis, whose publish kills Redis right after the
   * webhook is queued: the status write after it meets a real dead Redis, every time, not by a lucky race.
   */
  async function intakeKillingRedisAfterPublish(logged: unknown[]): Promise<ReturnType<typeof createHttpApp>> {
    const redis = new Redis(h.env.REDIS_URL, { maxRetriesPerRequest: 2 }); // as the service's own client
    redis.on('error', () => {});
    kit.closers.push(() => redis.disconnect());
    const rt = h.service.runtime;
    const app = createHttpApp({
      service: 'webhooks',
      version: '0.0.0',
      logger: createLogger({ service: 'webhooks', level: 'error' }),
      registry: createRegistry(),
    });
    registerRoutes(app, {
      store: new StatusStore(redis),
      ssrf: { allowPrivate: true, allowlist: new Set() },
      apiToken: TOKEN,
      publishSend: async (data, msgId) => {
        await rt.bus.publish('webhook.send', WebhookSendSchema.parse(data), { msgId });
        await h.redisServer.kill();
      },
      js: rt.js,
      jsm: rt.jsm,
      now: () => Date.now(),
      hasDefaultKey: true,
      log: { warn: (...args: unknown[]) => logged.push(args), error: (...args: unknown[]) => logged.push(args) },
    });
    kit.closers.push(() => app.close());
    await app.listen({ host: '127.0.0.1', port: 0 });
    return app;
  }

  it('answers 202 with the id (it is queued), and the webhook is delivered exactly once when Redis is back', async () => {
    const r = await kit.receiver(() => ({ status: 200 }));
    const logged: unknown[] = [];
    const app = await intakeKillingRedisAfterPublish(logged);
    let res: Response;
    try {
      // No id: the case where a 5xx would have made the client's retry a second webhook (a fresh ULID).
      res = await fetch(`http://127.0.0.1:${(app.server.address() as { port: number }).port}/api/webhooks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ url: r.url, eventType: 't', payload: { order: 42 } }),
      });
    } finally {
      await redisBack();
    }
    const body = (await res.json()) as { id: string; status: string };
    expect(res.status).toBe(202);
    expect(body).toEqual({ id: expect.any(String), status: 'pending' });
    expect(logged).toHaveLength(1); // the missing status record is said, not answered as an error

    await waitFor(() => eventsFor('webhook.delivered', body.id).length === 1, 20_000);
    await kit.drained(10_000);
    expect(r.requests).toHaveLength(1);
    expect(r.requests[0].headers['webhook-id']).toBe(body.id);
    // The worker wrote the record the intake could not.
    expect(await h.redis.hget(`vigil:webhook:${body.id}`, 'status')).toBe('delivered');
    expect(await h.redis.hget(`vigil:webhook:${body.id}`, 'url')).toContain(`127.0.0.1:${r.port}`);
  });
});
