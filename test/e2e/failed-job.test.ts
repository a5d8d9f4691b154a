import { type HttpReceiver, startHttpReceiver } from '@vigil/shared/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { lineStartingWith, shellWords } from './shell-words.js';
import { cronOnceIn, Stack } from './stack.js';

// Seeds 000/001: "Provider payment report failed with HTTP status 500" and nobody knew for 4 hours. Here a
// scheduled job's endpoint answers 500: the runner retries, gives up, the CRITICAL email carries the exact
// re-run command, a human pastes it once the endpoint is fixed, and a RESOLVED email closes the incident.
let api: HttpReceiver;
const slot = cronOnceIn(16_000);
let stack: Stack;

beforeAll(async () => {
  api = await startHttpReceiver(() => ({ status: 500, body: { error: 'database unavailable' } }));
  stack = new Stack({
    jobsYaml: `
timezone: UTC
jobs:
  weekly-provider-payment-report:
    schedule: "${slot.cron}"
    handler: http
    http: { url: "${api.url}/reports/provider-payments", method: POST, body: { week: 47 }, timeout: 5s }
    retries: { max: 2, backoff: exponential, base: 200ms, max: 1s }
    alerts: { recipients: [payments-oncall@example.com] }
`,
    env: { ALERT_GROUP_INTERVAL: '0' },
  });
  await stack.up();
}, 45_000);
afterAll(async () => {
  await stack?.down();
  await api.close();
}, 30_000);

const JOB = 'weekly-provider-payment-report';

it('HTTP 500 -> retries -> job.failed -> CRITICAL email with the re-run command; the command fixes it -> RESOLVED', async () => {
  expect(Date.now(), 'the stack started after the slot; raise the slot offset').toBeLessThan(slot.at - 1_000);
  const [failed] = await stack.events.waitFor(`job.failed.${JOB}`, 1, slot.at - Date.now() + 20_000);
  const run = failed.event.data;
  expect(run).toMatchObject({ job: JOB, trigger: 'schedule', status: 'failed' });
  expect(run.error.class).toBe('transient');
  expect(api.requests.length, 'first attempt + 2 retries').toBe(3);

  const critical = await stack.mail((m) => m.subject.includes('CRITICAL') && m.subject.includes(JOB));
  expect(critical.rcptTo).toContain('payments-oncall@example.com');
  expect(critical.text).toContain(run.runId);
  expect(critical.text).toMatch(/500/);
  // the API alternative points at this deployment's scheduler
  expect(lineStartingWith(critical.text, 'curl -X POST')).toContain(
    `${stack.url('scheduler')}/api/jobs/${JOB}/trigger`,
  );
  const command = lineStartingWith(critical.text, 'vigil trigger');
  expect(command, critical.text).toBeTruthy();

  // the endpoint is fixed; the operator pastes the command from the email
  api.respond(() => ({ status: 200, body: { ok: true } }));
  const words = shellWords(command ?? '');
  expect(words.slice(0, 3)).toEqual(['vigil', 'trigger', JOB]);
  const cli = await stack.cli(words.slice(1));
  expect(cli.code, `${cli.stdout}\n${cli.stderr}`).toBe(0);

  const [ok] = await stack.events.waitFor(`job.succeeded.${JOB}`, 1, 15_000);
  expect(ok.event.data).toMatchObject({ trigger: 'manual' });
  expect(ok.event.data.reason).toContain(run.runId);
  await stack.events.waitFor(`job.recovered.${JOB}`, 1, 10_000);
  const resolved = await stack.mail((m) => m.subject.includes('RESOLVED') && m.subject.includes(JOB));
  expect(resolved.rcptTo).toContain('payments-oncall@example.com');
  expect(stack.mails((m) => m.subject.includes('CRITICAL'))).toHaveLength(1);
}, 60_000);
