import { type HttpReceiver, startHttpReceiver, waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

let h: Harness;
let r: HttpReceiver;

beforeAll(async () => {
  // The default policy (no WEBHOOKS_ALLOW_PRIVATE); only the name `localhost` is allowlisted.
  h = await startHarness({ WEBHOOKS_ALLOW_PRIVATE: 'false', WEBHOOKS_ALLOWLIST: 'localhost' });
  r = await startHttpReceiver(() => ({ status: 200 }));
});
afterAll(async () => {
  await r?.close();
  await h?.stop();
});

describe('SSRF guard', () => {
  it.each([
    () => `http://127.0.0.1:${r.port}/hook`,
    () => 'http://169.254.169.254/latest/meta-data/',
    () => 'http://10.0.0.1/hook',
    () => `http://[::1]:${r.port}/`,
    () => 'http://[fd00:ec2::254]/',
    () => 'http://0.0.0.0/',
    () => 'http://2130706433/', // 127.0.0.1 spelled as a number
  ])('refuses internal address %# at intake without sending', async (url) => {
    const res = await h.api('POST', '/api/webhooks', { url: url(), eventType: 't', payload: {} });
    expect(res).toMatchObject({ status: 400, body: { error: { code: 'VIGIL_E_WEBHOOK_URL_REFUSED' } } });
    expect(r.requests).toHaveLength(0);
  });

  it('a host that does not resolve is refused at intake', async () => {
    const res = await h.api('POST', '/api/webhooks', {
      url: 'http://no-such-host.invalid/x',
      eventType: 't',
      payload: {},
    });
    expect(res).toMatchObject({ status: 400, body: { error: { code: 'VIGIL_E_WEBHOOK_URL_REFUSED' } } });
  });

  it('refuses at delivery too (commands published straight to the queue): dead, nothing sent', async () => {
    await h.service.runtime.bus.publish('webhook.send', {
      id: 'ssrf-event',
      url: `http://127.0.0.1:${r.port}/`,
      eventType: 't',
      payload: {},
    });
    const dead = await waitFor(() => h.events.of('webhook.dead').find((e) => e.event.data.id === 'ssrf-event'));
    expect(dead.event.data.error.message).toMatch(/loopback/);
    // an attempt the SSRF guard refused at connect time: the code the notifier's advice follows
    expect(dead.event.data).toMatchObject({
      attempts: 1,
      error: { type: 'VIGIL_E_WEBHOOK_URL_REFUSED', code: 'VIGIL_E_WEBHOOK_URL_REFUSED', class: 'permanent' },
    });
    expect(r.requests).toHaveLength(0);
  });

  it('an allowlisted host name is delivered to', async () => {
    const res = await h.api('POST', '/api/webhooks', {
      id: 'allowed',
      url: `http://localhost:${r.port}/ok`,
      eventType: 't',
      payload: {},
    });
    expect(res.status).toBe(202);
    await waitFor(() => h.events.of('webhook.delivered').find((e) => e.event.data.id === 'allowed'));
    expect(r.requests).toHaveLength(1);
  });
});
