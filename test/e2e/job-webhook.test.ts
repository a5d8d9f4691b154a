import { type HttpReceiver, startHttpReceiver } from '@vigil/shared/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Stack } from './stack.js';

// Seed 004: webhook deliveries failed silently. Here a job's last step queues a signed webhook to a partner
// having a bad minute (500, 503, then 200): the webhooks service retries it with backoff until it is delivered.
let flaky: HttpReceiver;

const stack = new Stack({
  jobsYaml: (s) => `
timezone: UTC
jobs:
  partner-sync:
    handler: http
    # the job's last step: queue a signed webhook through the webhooks service
    http:
      url: "${s.url('webhooks')}/api/webhooks"
      method: POST
      headers: { authorization: "Bearer ${s.token}" }
      body: { url: "${flaky.url}/hooks/vigil", eventType: partner.synced, payload: { rows: 42 } }
    retries: { max: 0 }
`,
  env: { ALERT_GROUP_INTERVAL: '0' },
  serviceEnv: {
    webhooks: {
      WEBHOOKS_SIGNING_SECRET: `whsec_${Buffer.alloc(24, 7).toString('base64')}`,
      WEBHOOKS_BACKOFF_BASE: '200ms',
      WEBHOOKS_BACKOFF_CAP: '1s',
      WEBHOOKS_MAX_RETRIES: '3',
    },
  },
});

beforeAll(async () => {
  // 500, 503, then 200: a partner having a bad minute
  flaky = await startHttpReceiver((_req, i) => ({ status: i < 2 ? [500, 503][i] : 200 }));
  await stack.up();
}, 40_000);
afterAll(async () => {
  await stack.down();
  await flaky.close();
}, 30_000);

it('a job that ends with a webhook to a flaky receiver: delivered after retries', async () => {
  const { status, json } = await stack.api('scheduler', 'POST', '/api/jobs/partner-sync/trigger', {
    reason: 'e2e webhook',
  });
  expect(status).toBe(202);
  await stack.events.waitFor(`job.succeeded.partner-sync`, 1, 15_000);
  const [delivered] = await stack.events.waitFor('webhook.delivered', 1, 15_000);
  expect(delivered.event.data).toMatchObject({ eventType: 'partner.synced', attempt: 3, status: 200 });
  expect(flaky.requests).toHaveLength(3);
  const last = flaky.requests[2];
  expect(last.headers['webhook-signature']).toMatch(/^v1,/);
  expect(JSON.parse(last.body)).toMatchObject({ type: 'partner.synced', data: { rows: 42 } });
  expect(stack.events.of('webhook.attempt-failed')).toHaveLength(2);
  const st = await stack.api('webhooks', 'GET', `/api/webhooks/${delivered.event.data.id}`);
  expect(st.json.status).toBe('delivered');
  expect(json.runId).toBeTruthy();
}, 40_000);
