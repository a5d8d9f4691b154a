import { randomBytes } from 'node:crypto';
import { startHttpReceiver, waitFor } from '@vigil/shared/testing';
import { headers as natsHeaders } from 'nats';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

const PER_DESTINATION = `whsec_${randomBytes(32).toString('base64')}`;
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  // A stand-in for the secrets service on real NATS, speaking its request/reply protocol (contract §4).
  h.nc.subscribe('secrets.get', {
    callback: (_err, msg) => {
      const { name } = JSON.parse(new TextDecoder().decode(msg.data));
      if (name === 'partner-key') {
        const value = { name, value: PER_DESTINATION, stale: false, ageSeconds: 0, source: 'file' };
        msg.respond(new TextEncoder().encode(JSON.stringify(value)));
      } else {
        const hdrs = natsHeaders();
        hdrs.set('Nats-Service-Error-Code', '404');
        hdrs.set('Nats-Service-Error', `secret ${name} not found`);
        msg.respond(new Uint8Array(), { headers: hdrs });
      }
    },
  });
  await h.nc.flush();
});
afterAll(async () => {
  await h?.stop();
});

describe('per-destination signing keys from the secrets service', () => {
  it('signs with the key named by secretName', async () => {
    const r = await startHttpReceiver(() => ({ status: 200 }));
    await h.api('POST', '/api/webhooks', {
      id: 'sec-1',
      url: r.url,
      eventType: 't',
      payload: { a: 1 },
      secretName: 'partner-key',
    });
    await waitFor(() => r.requests.length === 1);
    const req = r.requests[0];
    expect(new Webhook(PER_DESTINATION).verify(req.body, req.headers as Record<string, string>)).toMatchObject({
      data: { a: 1 },
    });
    await r.close();
  });

  it('an unknown secret is permanent: dead without sending', async () => {
    const r = await startHttpReceiver(() => ({ status: 200 }));
    await h.api('POST', '/api/webhooks', { id: 'sec-2', url: r.url, eventType: 't', payload: {}, secretName: 'nope' });
    const dead = await waitFor(() => h.events.of('webhook.dead').find((e) => e.event.data.id === 'sec-2'));
    expect(dead.event.data).toMatchObject({ attempts: 0, error: { code: 'VIGIL_E_SECRET_NOT_FOUND' } });
    expect((await h.api('GET', '/api/webhooks/sec-2')).body).toMatchObject({ status: 'dead', attempts: 0 });
    expect(r.requests).toHaveLength(0);
    await r.close();
  });
});
