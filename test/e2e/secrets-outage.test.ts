import { randomBytes } from 'node:crypto';
import {
  type FakeSecretsManager,
  type HttpReceiver,
  startFakeSecretsManager,
  startHttpReceiver,
  waitFor,
} from '@vigil/shared/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cronOnceIn, Stack } from './stack.js';

// Seeds 000/001: on 2025-10-20 AWS Secrets Manager answered InternalServiceError, 8 of 9 secrets failed to
// refresh and jobs failed silently for 4 hours. Here the provider (a local Secrets Manager speaking the AWS
// protocol to the real SDK) fails during a scheduled run: the run succeeds on the stale value, a WARNING says
// so, nothing CRITICAL. Then a warming cycle with every secret failing (>50%) sends the CRITICAL email.
const API_KEY = 'pk_live_e2e_7f3a9c';
let aws: FakeSecretsManager;
let partner: HttpReceiver;
const slot = cronOnceIn(18_000);

let stack: Stack;
const newStack = () =>
  new Stack({
    jobsYaml: () => `
timezone: UTC
jobs:
  provider-payments:
    schedule: "${slot.cron}"
    handler: http
    http:
      url: "${partner.url}/payments/export"
      method: POST
      headers: { x-api-key: "\${secret:partner-api-key}" }
      body: { week: 47 }
    retries: { max: 0 }
    startDeadline: 30s
`,
    env: { ALERT_GROUP_INTERVAL: '0' },
    serviceEnv: {
      secrets: {
        SECRETS_PROVIDER: 'aws',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'AKIAE2EDUMMY',
        AWS_SECRET_ACCESS_KEY: 'e2e-dummy-secret-key',
        SECRET_NAMES: 'partner-api-key,db-password,smtp-password',
        // every read goes to the provider, so the outage is felt by the very next run
        SECRETS_TTL: '1s',
        SECRETS_WARM_INTERVAL: '1h',
        SECRETS_CACHE_KEY: randomBytes(32).toString('base64'),
        AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.url,
      },
    },
  });

beforeAll(async () => {
  aws = await startFakeSecretsManager({
    'partner-api-key': API_KEY,
    'db-password': 'db-e2e-pw',
    'smtp-password': 'smtp-e2e-pw',
  });
  partner = await startHttpReceiver((req) => ({ status: req.headers['x-api-key'] === API_KEY ? 200 : 401 }));
  stack = newStack();
  await stack.up();
  // the start-up warm fetched every secret while the provider was healthy
  await stack.events.waitFor('secrets.refreshed', 1, 15_000);
}, 45_000);
afterAll(async () => {
  await stack.down();
  await partner.close();
  await aws.close();
}, 30_000);

it('a scheduled run during the provider outage succeeds on the stale secret: WARNING, no CRITICAL', async () => {
  expect(Date.now(), 'the stack started after the slot; raise the slot offset').toBeLessThan(slot.at - 1_000);
  aws.failWithInternalError();

  const [ok] = await stack.events.waitFor('job.succeeded.provider-payments', 1, slot.at - Date.now() + 20_000);
  expect(ok.event.data).toMatchObject({ trigger: 'schedule', status: 'succeeded' });
  expect(partner.requests).toHaveLength(1);
  expect(partner.requests[0].headers['x-api-key']).toBe(API_KEY);
  expect(aws.calls('partner-api-key')).toBeGreaterThan(1); // the provider was asked, and failed

  const [stale] = await stack.events.waitFor('secrets.stale-served', 1, 10_000);
  expect(stale.event.data).toMatchObject({ name: 'partner-api-key' });
  const warning = await stack.mail((m) => m.subject.includes('WARNING') && m.subject.includes('partner-api-key'));
  expect(warning.text).toMatch(/InternalServiceError/);
  // the secret's value never leaves the secrets service in an alert
  expect(warning.text + warning.html).not.toContain(API_KEY);

  // The operator's view: which secret is stale, since when, and why; still never the value.
  const status = await stack.cli(['secrets', 'status']);
  expect(status.code, status.stderr).toBe(0);
  const row = status.stdout.split('\n').find((l) => l.startsWith('partner-api-key'));
  expect(row).toMatch(/\bSTALE\b.*InternalServiceError: /);
  expect(status.stdout).not.toContain('[object Object]');
  expect(status.stdout).not.toContain(API_KEY);

  await stack.events.waitFor('notification.sent', 1, 10_000);
  expect(stack.events.of('job.failed')).toHaveLength(0);
  expect(stack.mails((m) => m.subject.includes('CRITICAL')).map((m) => m.subject)).toEqual([]);
}, 60_000);

it('a warming cycle with more than half the secrets failing sends the CRITICAL email', async () => {
  // a restarted secrets service warms at once; the provider is still down, every secret fails
  await stack.stop('secrets');
  await stack.start('secrets');
  const [failed] = await stack.events.waitFor('secrets.refresh-failed', 1, 20_000);
  expect(failed.event.data).toMatchObject({ severity: 'CRITICAL', total: 3, refreshed: 0 });
  const critical = await stack.mail((m) => m.subject.includes('CRITICAL') && /secrets/i.test(m.subject), 15_000);
  for (const name of ['partner-api-key', 'db-password', 'smtp-password']) expect(critical.text).toContain(name);

  // still serving from the sealed last-known-good copy in Redis across the restart
  const reply = await stack.nc.request('secrets.get', JSON.stringify({ name: 'partner-api-key' }), { timeout: 5_000 });
  const answer = JSON.parse(new TextDecoder().decode(reply.data));
  expect(answer).toMatchObject({ name: 'partner-api-key', value: API_KEY, stale: true });
}, 60_000);

it('a warming cycle with a minority failing is a WARNING, not a CRITICAL', async () => {
  // two of three secrets answer again; one still fails
  aws.recover(['db-password', 'smtp-password']);
  const before = stack.events.of('secrets.refresh-failed').length;
  await stack.stop('secrets');
  await stack.start('secrets');
  const failed = await waitFor(() => stack.events.of('secrets.refresh-failed')[before], { timeout: 20_000 });
  expect(failed.event.data).toMatchObject({ severity: 'WARNING', total: 3, refreshed: 2, names: ['partner-api-key'] });
  const warning = await stack.mail(
    (m) => m.subject.includes('WARNING') && m.subject.includes('secrets refresh failed: partner-api-key'),
    15_000,
  );
  expect(warning.text).toContain('1 of 3 secrets failed');
  expect(stack.mails((m) => m.subject.includes('CRITICAL'))).toHaveLength(1);
}, 60_000);
