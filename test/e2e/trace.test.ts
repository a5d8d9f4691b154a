import { randomBytes } from 'node:crypto';
import { type HttpReceiver, startHttpReceiver, waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type OtlpReceiver, startOtlpReceiver } from './otlp-receiver.js';
import { Stack } from './stack.js';

// One incident, one trace: an operator's HTTP trigger -> scheduler -> runner -> the job's call to the webhooks
// API -> a delivery that dies -> notifier -> the SMTP send of the WARNING email, all under the trace id the
// operator's request carried, exported over OTLP/HTTP like a Jaeger would receive it.
let otlp: OtlpReceiver;
let partner: HttpReceiver;
let payments: HttpReceiver;
let stack: Stack;

beforeAll(async () => {
  otlp = await startOtlpReceiver();
  partner = await startHttpReceiver();
  await partner.close(); // the partner is down for the whole test
  payments = await startHttpReceiver(() => ({ status: 500, body: { error: 'ledger locked' } }));
  stack = new Stack({
    jobsYaml: (s) => `
timezone: UTC
jobs:
  partner-callback:
    handler: http
    http:
      url: "${s.url('webhooks')}/api/webhooks"
      method: POST
      headers: { authorization: "Bearer ${s.token}" }
      body: { url: "${partner.url}/callback", eventType: payments.exported, payload: { week: 47 } }
    retries: { max: 0 }
  payments-export:
    handler: http
    http: { url: "${payments.url}/export", method: POST }
    retries: { max: 0 }
`,
    env: {
      ALERT_GROUP_INTERVAL: '0',
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    },
    serviceEnv: {
      webhooks: {
        WEBHOOKS_SIGNING_SECRET: `whsec_${Buffer.alloc(24, 9).toString('base64')}`,
        WEBHOOKS_BACKOFF_BASE: '100ms',
        WEBHOOKS_BACKOFF_CAP: '200ms',
        WEBHOOKS_MAX_RETRIES: '1',
      },
    },
  });
  await stack.up();
}, 45_000);
afterAll(async () => {
  await stack?.down();
  await otlp.close();
  await payments.close();
}, 30_000);

const newTraceparent = () => {
  const traceId = randomBytes(16).toString('hex');
  return { traceId, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` };
};

const describeTrace = (traceId: string) =>
  JSON.stringify(
    otlp
      .spans()
      .filter((s) => s.traceId === traceId)
      .map((s) => `${s.service}:${s.name}`),
  );

it('the HTTP trigger, scheduler, runner, webhooks, notifier and the SMTP send share one trace id', async () => {
  const { traceId, traceparent } = newTraceparent();
  const res = await stack.api(
    'scheduler',
    'POST',
    '/api/jobs/partner-callback/trigger',
    { reason: 'trace e2e' },
    { traceparent },
  );
  expect(res.status).toBe(202);

  await stack.events.waitFor('webhook.dead', 1, 20_000);
  const mail = await stack.mail((m) => m.subject.includes('WARNING') && m.subject.includes('webhook'), 15_000);
  expect(mail.text).toContain('payments.exported');

  const wanted = ['vigil-scheduler', 'vigil-reports', 'vigil-webhooks', 'vigil-notifier'];
  const spans = await waitFor(
    () => {
      const mine = otlp.spans().filter((s) => s.traceId === traceId);
      const services = new Set(mine.map((s) => s.service));
      const smtp = mine.some((s) => s.service === 'vigil-notifier' && /smtp/i.test(s.name));
      return wanted.every((w) => services.has(w)) && smtp ? mine : undefined;
    },
    {
      timeout: 15_000,
      message: `spans of trace ${traceId}: ${JSON.stringify(
        otlp
          .spans()
          .filter((s) => s.traceId === traceId)
          .map((s) => `${s.service}:${s.name}`),
      )}; all traces: ${new Set(otlp.spans().map((s) => s.traceId)).size}`,
    },
  );
  const services = new Set(spans.map((s) => s.service));
  expect(services.size).toBeGreaterThanOrEqual(4);
  // every span but the operator's (remote) root has its parent inside the trace
  const ids = new Set(spans.map((s) => s.spanId));
  const orphans = spans.filter((s) => s.parentSpanId && !ids.has(s.parentSpanId));
  expect(orphans.length, JSON.stringify(orphans)).toBeLessThanOrEqual(1);
}, 60_000);

it('a failed job: trigger, scheduler, runner, job.failed, notifier and the CRITICAL email in one trace', async () => {
  const { traceId, traceparent } = newTraceparent();
  const res = await stack.api(
    'scheduler',
    'POST',
    '/api/jobs/payments-export/trigger',
    { reason: 'trace' },
    { traceparent },
  );
  expect(res.status).toBe(202);
  await stack.mail((m) => m.subject.includes('CRITICAL') && m.subject.includes('payments-export'), 15_000);
  const spans = await waitFor(
    () => {
      const mine = otlp.spans().filter((s) => s.traceId === traceId);
      const has = (svc: string, name: RegExp) => mine.some((s) => s.service === svc && name.test(s.name));
      return has('vigil-scheduler', /POST/) &&
        has('vigil-reports', /^run payments-export/) &&
        has('vigil-reports', /job\.failed|POST/) &&
        has('vigil-notifier', /process job\.failed/) &&
        has('vigil-notifier', /smtp\.send/)
        ? mine
        : undefined;
    },
    { timeout: 15_000, message: `spans of trace ${traceId}: ${describeTrace(traceId)}` },
  );
  expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['vigil-scheduler', 'vigil-reports', 'vigil-notifier']));
}, 60_000);
