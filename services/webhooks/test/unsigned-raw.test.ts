import { startHttpReceiver, waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

// No WEBHOOKS_SIGNING_SECRET, as in a compose deploy that only set ALERT_WEBHOOK_URL: the notifier's chat fallback
// (a raw Slack message) must still go out, while a Standard Webhooks envelope is never sent unsigned.
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ WEBHOOKS_SIGNING_SECRET: '' });
});
afterAll(async () => {
  await h?.stop();
});

describe('without a signing key', () => {
  it('delivers a raw body (Slack, Teams) unsigned: webhook-id and timestamp, no signature', async () => {
    const r = await startHttpReceiver(() => ({ status: 200 }));
    // as the notifier sends its fallback: a webhook.send event, not the HTTP route
    await h.service.runtime.bus.publish('webhook.send', {
      id: 'alert-1.slack',
      url: `${r.url}/slack`,
      eventType: 'vigil.alert',
      format: 'raw',
      payload: { text: 'CRITICAL: nightly-export failed' },
    });
    await waitFor(() => h.events.of('webhook.delivered').find((e) => e.event.data.id === 'alert-1.slack'));
    expect(r.requests).toHaveLength(1);
    expect(JSON.parse(r.requests[0].body)).toEqual({ text: 'CRITICAL: nightly-export failed' });
    expect(r.requests[0].headers['webhook-id']).toBe('alert-1.slack');
    expect(r.requests[0].headers['webhook-signature']).toBeUndefined();
    // and over HTTP too
    const res = await h.api('POST', '/api/webhooks', {
      id: 'raw-http',
      url: `${r.url}/slack`,
      eventType: 't',
      format: 'raw',
      payload: { text: 'hi' },
    });
    expect(res.status).toBe(202);
    await waitFor(() => r.requests.length === 2);
    await r.close();
  });

  it('refuses a Standard Webhooks envelope: 400 over HTTP, dead (never sent) from an event', async () => {
    const r = await startHttpReceiver(() => ({ status: 200 }));
    const res = await h.api('POST', '/api/webhooks', { id: 'std-http', url: r.url, eventType: 't', payload: {} });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/no signing key.*WEBHOOKS_SIGNING_SECRET/);
    await h.service.runtime.bus.publish('webhook.send', { id: 'std-event', url: r.url, eventType: 't', payload: {} });
    const dead = await waitFor(() => h.events.of('webhook.dead').find((e) => e.event.data.id === 'std-event'));
    expect(dead.event.data).toMatchObject({
      attempts: 0,
      error: { code: 'VIGIL_E_WEBHOOK_SIGNING_KEY_MISSING', class: 'permanent' },
    });
    expect(r.requests).toHaveLength(0);
    await r.close();
  });
});
