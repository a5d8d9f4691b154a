import { type HttpReceiver, startHttpReceiver, waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Stack } from './stack.js';

// Seed 004: webhook statuses lived in memory and failed deliveries vanished. Here a job's webhook to a dead
// partner is given up after its retries, lands in the DLQ (WARNING email), and `vigil dlq replay` delivers it
// once the partner is back.
let partner: HttpReceiver;

const stack = new Stack({
  jobsYaml: (s) => `
timezone: UTC
jobs:
  report-ready-hook:
    handler: http
    http:
      url: "${s.url('webhooks')}/api/webhooks"
      method: POST
      headers: { authorization: "Bearer ${s.token}" }
      body: { url: "${partner.url}/hooks/vigil", eventType: report.ready, payload: { report: acme/2026-11-24 } }
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
  partner = await startHttpReceiver(() => ({ status: 200 }));
  await partner.close(); // down: connections refused
  await stack.up();
}, 40_000);
afterAll(async () => {
  await stack.down();
  await partner.close();
}, 30_000);

it('a webhook to a dead receiver goes to the DLQ, and `vigil dlq replay` delivers it once the receiver is back', async () => {
  const trigger = await stack.cli(['trigger', 'report-ready-hook', '--reason', 'e2e dead partner']);
  expect(trigger.code, trigger.stderr).toBe(0);
  // the job itself succeeds: its webhook is queued, durable, and from here on the webhooks service's concern
  // Under a fully loaded CI machine (five services, two e2e stacks at once) a run can take a while to start;
  // when it never succeeds, say what the job did instead.
  await stack.events.waitFor('job.succeeded.report-ready-hook', 1, 30_000).catch((err: Error) => {
    const seen = stack.events.events
      .filter((e) => e.subject.startsWith('job.') && e.subject.endsWith('.report-ready-hook'))
      .map((e) => `${e.subject} ${JSON.stringify(e.event?.data?.error ?? e.event?.data?.reason ?? '')}`);
    throw new Error(`${err.message}; job events seen: ${seen.join(' | ') || 'none'}`);
  });

  const [dead] = await stack.events.waitFor('webhook.dead', 1, 20_000);
  expect(dead.event.data).toMatchObject({ eventType: 'report.ready', attempts: 4 });
  const id: string = dead.event.data.id;
  const warning = await stack.mail((m) => /WARNING/.test(m.subject) && m.subject.includes('webhook'), 10_000);
  expect(warning.text).toContain(id);
  expect((await stack.api('webhooks', 'GET', `/api/webhooks/${id}`)).json.status).toBe('dead');

  const list = await stack.cli(['dlq', 'list', '--json']);
  expect(list.code, list.stderr).toBe(0);
  const listed = JSON.parse(list.stdout);
  const entries: Array<{ seq: number; originalSubject: string }> = Array.isArray(listed) ? listed : listed.entries;
  const entry = entries.find((e) => e.originalSubject === 'webhook.send');
  expect(entry, list.stdout).toBeTruthy();

  await partner.start();
  const replay = await stack.cli(['dlq', 'replay', String(entry?.seq)]);
  expect(replay.code, replay.stderr + replay.stdout).toBe(0);

  await waitFor(() => stack.events.of('webhook.delivered').find((e) => e.event.data.id === id), {
    timeout: 15_000,
    message: 'the replayed webhook is delivered',
  });
  expect(partner.requests).toHaveLength(1);
  expect(JSON.parse(partner.requests[0].body)).toMatchObject({ type: 'report.ready' });
  expect((await stack.api('webhooks', 'GET', `/api/webhooks/${id}`)).json.status).toBe('delivered');
}, 90_000);
