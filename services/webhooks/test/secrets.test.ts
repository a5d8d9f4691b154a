import { randomBytes } from 'node:crypto';
import { startHttpReceiver, waitFor } from '@vigil/shared/testing';
import { headers as natsHeaders } from 'nats';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

const PER_DESTINATION = `whsec_${randomBytes(32).toString('base64')}`;
let h: Harness;
/** Every name the stand-in secrets service was asked for. */
const asked: string[] = [];

beforeAll(async () => {
  h = await startHarness();
  // A stand-in for the secrets service on real NATS, speaking its request/reply protocol (contract §4).
  h.nc.subscribe('secrets.get', {
    callback: (_err, msg) => {
      const { name } = JSON.parse(new TextDecoder().decode(msg.data));
      asked.push(name);
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

  it('a secretName outside the secret name rule is refused at intake with 400', async () => {
    for (const secretName of ['a\nb', 'a\r\nNats-Service-Error: x', 'has space', '']) {
      const res = await h.api('POST', '/api/webhooks', {
        id: 'sec-bad-name',
        url: 'http://127.0.0.1:9/h',
        eventType: 't',
        payload: {},
        secretName,
      });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'VIGIL_E_VALIDATION' });
      expect(res.body.error.message).toContain('secretName');
    }
    expect((await h.api('GET', '/api/webhooks/sec-bad-name')).status).toBe(404);
    // The name rule keeps what the providers accept: AWS-style paths and dotted names.
    const r = await startHttpReceiver(() => ({ status: 200 }));
    const ok = await h.api('POST', '/api/webhooks', {
      id: 'sec-good-name',
      url: r.url,
      eventType: 't',
      payload: {},
      secretName: 'team/partner_key+v2=x.y@z-1',
    });
    expect(ok.status).toBe(202);
    await r.close();
  });

  it('a webhook.send with a bad secretName is dead-lettered at once with the reason, never asked for', async () => {
    const r = await startHttpReceiver(() => ({ status: 200 }));
    await h.service.runtime.bus.publish('webhook.send', {
      id: 'sec-bad-event',
      url: r.url,
      eventType: 't',
      payload: {},
      secretName: 'a\nb',
    });
    const dead = await waitFor(() => h.events.of('webhook.dead').find((e) => e.event.data.id === 'sec-bad-event'));
    expect(dead.event.data.error).toMatchObject({ code: 'VIGIL_E_VALIDATION', class: 'validation' });
    expect(dead.event.data.error.message).toContain('secretName');
    const letter = await waitFor(async () =>
      (await h.service.runtime.bus.listDlq({ subject: 'webhook.send' })).find(
        (e: any) => e.data?.data?.id === 'sec-bad-event',
      ),
    );
    expect(letter.errorClass).toBe('validation');
    expect(asked).not.toContain('a\nb');
    expect(r.requests).toHaveLength(0);
    await r.close();
  });
});

describe('GET /api/dlq query validation', () => {
  it('a repeated subject parameter is 400, not 500 (with dead letters present)', async () => {
    const bad = { id: 'dlq-q', url: 'http://127.0.0.1:9/h', eventType: 't', payload: {}, secretName: 'a b' };
    await h.service.runtime.bus.publish('webhook.send', bad);
    await waitFor(async () => (await h.api('GET', '/api/dlq?subject=webhook.send')).body.count > 0);
    const res = await h.api('GET', '/api/dlq?subject=webhook.send&subject=job.>');
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'VIGIL_E_VALIDATION' });
    expect(res.body.error.message).toContain('subject');
    expect((await h.api('GET', '/api/dlq?limit=1&limit=2')).status).toBe(400);
    // a limit that is not a whole number in range is refused, not ignored
    for (const bad of ['abc', '0', '1001', '2.5']) {
      const res = await h.api('GET', `/api/dlq?limit=${bad}`);
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(/limit must be a whole number from 1 to 1000/);
    }
    expect((await h.api('GET', '/api/dlq?limit=1000')).status).toBe(200);
    expect((await h.api('GET', '/api/dlq?subject=webhook.send')).status).toBe(200);
  });
});

describe('GET /api/dlq without the API token', () => {
  it('lists what failed and why, but not the payloads (a destination URL can be a credential)', async () => {
    const url = 'http://127.0.0.1:9/services/T000/B000/XXXXsecretpath';
    const bad = { id: 'dlq-hidden', url, eventType: 't', payload: { customer: 'jane@example.com' }, secretName: 'a b' };
    await h.service.runtime.bus.publish('webhook.send', bad);
    const hasIt = (body: any) => body.entries.some((e: any) => e.eventId && e.originalSubject === 'webhook.send');
    await waitFor(async () => hasIt((await h.api('GET', '/api/dlq?subject=webhook.send')).body));

    for (const token of [null, 'wrong-token']) {
      const open = await h.api('GET', '/api/dlq?subject=webhook.send', undefined, token);
      expect(open.status).toBe(200);
      expect(open.body.payloadsHidden).toBe(true);
      expect(open.body.count).toBeGreaterThan(0);
      expect(open.body.entries[0]).toMatchObject({
        originalSubject: 'webhook.send',
        errorClass: 'validation',
        data: null,
      });
      expect(JSON.stringify(open.body)).not.toContain('XXXXsecretpath');
      expect(JSON.stringify(open.body)).not.toContain('jane@example.com');
    }
    const full = await h.api('GET', '/api/dlq?subject=webhook.send');
    expect(full.body.payloadsHidden).toBeUndefined();
    expect(full.body.entries.find((e: any) => e.data?.data?.id === 'dlq-hidden').data.data.url).toBe(url);
  });
});
