import { afterAll, beforeAll, expect, it } from 'vitest';
import { cronOnceIn, Stack } from './stack.js';

// Seed 003: "Daily Scheduler Failure" went unnoticed. Here every runner is down when the slot comes:
// nobody starts the run, the scheduler's watchdog says job.missed, and a CRITICAL email names it.
const slot = cronOnceIn(16_000);
const stack = new Stack({
  jobsYaml: `
timezone: UTC
jobs:
  nightly-export:
    schedule: "${slot.cron}"
    handler: http
    http: { url: "http://127.0.0.1:9/never-called", method: POST }
    startDeadline: 1s
    alerts: { recipients: [oncall@example.com] }
`,
  env: { ALERT_GROUP_INTERVAL: '0' },
});

beforeAll(async () => {
  await stack.up();
  for (const runner of stack.instances('reports')) await stack.stop(runner);
}, 40_000);
afterAll(() => stack.down(), 30_000);

it('emails job.missed within 5 s of the deadline when every runner is stopped', async () => {
  expect(Date.now(), 'the stack started after the slot; raise the slot offset').toBeLessThan(slot.at - 1_000);
  const [missed] = await stack.events.waitFor('job.missed.nightly-export', 1, slot.at - Date.now() + 10_000);
  expect(missed.event.data).toMatchObject({ job: 'nightly-export', trigger: 'schedule', status: 'missed' });
  expect(Date.parse(missed.event.data.scheduledAt)).toBe(slot.at);

  const mail = await stack.mail((m) => m.subject.includes('nightly-export'), 10_000, 'missed-job email');
  expect(mail.subject).toMatch(/CRITICAL/);
  expect(mail.subject).toMatch(/missed/);
  expect(mail.rcptTo).toContain('oncall@example.com');
  // deadline = slot + 1 s; the email must be in the inbox within 5 s of it
  expect(mail.receivedAt.getTime() - (slot.at + 1_000)).toBeLessThan(5_000);
  expect(mail.text).toContain('vigil trigger nightly-export');
  expect(stack.events.of('job.started.nightly-export')).toHaveLength(0);
}, 40_000);

it('the system health says the runners are down: GET /api/system/health and `vigil health` (exit 1)', async () => {
  const health = await stack.api('scheduler', 'GET', '/api/system/health');
  expect(health.status).toBe(200);
  expect(health.json.ok).toBe(false);
  const reports = health.json.services.find((s: { service: string }) => s.service === 'reports');
  expect(reports).toMatchObject({ ready: false });
  for (const name of ['scheduler', 'notifier', 'secrets', 'webhooks']) {
    expect(health.json.services.find((s: { service: string }) => s.service === name)).toMatchObject({ ready: true });
  }
  const cli = await stack.cli(['health']);
  expect(cli.code, 'vigil health exits 1 when degraded, so cron and scripts can alert on it').toBe(1);
  expect(cli.stdout).toMatch(/reports\s+NO/);
  expect(cli.stdout).toContain('DEGRADED');
}, 30_000);
