import { makeEnvelope } from '@vigil/shared';
import { startHttpReceiver, waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

// URLs as operators write them: credentials in the URL, long ids, a scheme that is refused; and a status asked for
// after its details expired.
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

describe('webhook URLs and ids as operators write them', () => {
  it('sends user:password in the URL as Basic authentication, and shows neither in status or events', async () => {
    const r = await startHttpReceiver((req) => ({
      status: req.headers.authorization === `Basic ${Buffer.from('hook user:p@ss').toString('base64')}` ? 200 : 401,
    }));
    const url = new URL(`${r.url}/in?x=1`);
    url.username = 'hook user';
    url.password = 'p@ss';
    const res = await h.api('POST', '/api/webhooks', { id: 'basic-1', url: url.href, eventType: 't', payload: {} });
    expect(res.status).toBe(202);
    const delivered = await waitFor(() => h.events.of('webhook.delivered').find((e) => e.event.data.id === 'basic-1'));
    expect(r.requests[0].url).toBe('/in?x=1');
    const status = await h.api('GET', '/api/webhooks/basic-1');
    expect(status.body).toMatchObject({ status: 'delivered', url: `${r.url}/in` });
    expect(JSON.stringify([status.body, delivered.event])).not.toContain('p@ss');
    await r.close();
  });

  it('a 200-character id is delivered and its status read; after the details expire it is still "delivered"', async () => {
    const r = await startHttpReceiver(() => ({ status: 200 }));
    const id = `k${'x'.repeat(199)}`;
    expect((await h.api('POST', '/api/webhooks', { id, url: `${r.url}/h`, eventType: 't', payload: {} })).status).toBe(
      202,
    );
    await waitFor(() => h.events.of('webhook.delivered').find((e) => e.event.data.id === id));
    expect((await h.api('GET', `/api/webhooks/${id}`)).body).toMatchObject({ id, status: 'delivered', attempts: 1 });
    // the 30-minute details gone, the 7-day marker left: the same answer the POST of that id gives
    await h.redis.del(`vigil:webhook:${id}`);
    const after = await h.api('GET', `/api/webhooks/${id}`);
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({ id, status: 'delivered', detailsExpired: true });
    expect((await h.api('POST', '/api/webhooks', { id, url: `${r.url}/h`, eventType: 't', payload: {} })).body).toEqual(
      { id, status: 'delivered' },
    );
    expect(r.requests).toHaveLength(1);
    await r.close();
  });

  it('a refused scheme sent over NATS names its scheme and host in the dead notice, not "null"', async () => {
    // another program's command (the bus of a Vigil service would refuse it before publishing)
    const env = makeEnvelope('other-program', 'webhook.send', {
      id: 'gopher-1',
      url: 'gopher://old.example:70/1',
      eventType: 't',
      payload: {},
    });
    await h.service.runtime.js.publish('webhook.send', new TextEncoder().encode(JSON.stringify(env)));
    const dead = await waitFor(() => h.events.of('webhook.dead').find((e) => e.event.data.id === 'gopher-1'));
    expect(dead.event.data.url).toBe('gopher://old.example:70/1');
  });

  it('a bare command sent without its CloudEvent envelope is dead with the reason, and its id says so', async () => {
    const command = { id: 'plain-2', url: 'http://127.0.0.1:9/p', eventType: 'x', payload: {} };
    await h.service.runtime.js.publish('webhook.send', new TextEncoder().encode(JSON.stringify(command)));
    const dead = await waitFor(() => h.events.of('webhook.dead').find((e) => e.event.data.id === 'plain-2'));
    expect(dead.event.data.error.message).toMatch(/bad CloudEvent envelope/);
    expect((await h.api('GET', '/api/webhooks/plain-2')).body).toMatchObject({ status: 'dead' });
  });
});
