import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, runData, startHarness } from './harness.js';

describe('notifier email path (real NATS, real SMTP sink)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('turns job.failed into one CRITICAL email with everything needed to act, escaped', async () => {
    const data = runData('daily-reports');
    await h.bus.publish('job.failed.daily-reports', data);
    const [mail] = await h.sink.waitForMessages(1);
    expect(mail.subject).toBe('🚨 CRITICAL: daily-reports failed — ConnectionError');
    expect(mail.to).toEqual(['admin@example.com']);
    for (const body of [mail.html, mail.text]) {
      expect(body).toContain('ECONNREFUSED 10.0.0.5:443');
      expect(body).toContain('fetchCompanies (handlers/report.mjs:42:11)');
      expect(body).toMatch(/status page and connectivity/);
      expect(body).toContain(`re-run after ${data.runId} failed`);
      expect(body).toContain('/api/jobs/daily-reports/trigger');
    }
    expect(mail.text).toContain(`vigil trigger daily-reports --reason "re-run after ${data.runId} failed"`);
    expect(mail.text).toMatch(/Succeeded:\s+2/);
    expect(mail.text).toMatch(/Failed:\s+3/);
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain('&lt;script&gt;');
    const sent = await h.events.waitFor('notification.sent');
    expect(sent[0].event.data).toMatchObject({
      channel: 'email',
      recipients: ['admin@example.com'],
      severity: 'CRITICAL',
    });
    h.sink.clear();
  });

  it('sends one email when the same event is delivered twice', async () => {
    const id = '01JDUPLICATE0000000000000001';
    const data = runData('dup-job');
    await h.bus.publish('job.failed.dup-job', data, { id, msgId: `${id}-a` });
    await h.sink.waitForMessages(1);
    // A re-publish after the JetStream duplicate window: same event id, new message id.
    await h.bus.publish('job.failed.dup-job', data, { id, msgId: `${id}-b` });
    await h.bus.publish('job.failed.dup-job', runData('dup-job'), { id: '01JDUPLICATE0000000000000002' });
    await h.sink.waitForMessages(2);
    await h.idle('VIGIL_JOBS', 'notifier-job-failed');
    expect(h.sink.messages.length).toBe(2);
    expect(h.sink.messages.filter((m) => m.text.includes(id)).length).toBe(1);
    h.sink.clear();
  });

  it('sends a resolved email when a failing job recovers', async () => {
    await h.bus.publish('job.failed.flaky', runData('flaky'));
    await h.sink.waitForMessages(1);
    await h.bus.publish('job.recovered.flaky', runData('flaky', { status: 'recovered', error: undefined }));
    const mails = await h.sink.waitForMessages(2);
    expect(mails[1].subject).toBe('✅ RESOLVED: flaky recovered');
    expect(mails[1].text).not.toContain('vigil trigger');
    h.sink.clear();
  });

  it('renders a WARNING for a partial run with a re-run of only the failed targets', async () => {
    await h.bus.publish(
      'job.partial.daily-reports',
      runData('daily-reports', {
        status: 'partial',
        error: undefined,
        failures: [
          { target: 'acme', error: { type: 'HttpError', message: 'HTTP 503', class: 'transient' } },
          { target: 'globex', error: 'timeout after 30s' },
        ],
        stats: { targets: 5, succeeded: 3, failed: 2, skipped: 0 },
      }),
    );
    const [mail] = await h.sink.waitForMessages(1);
    expect(mail.subject).toBe('⚠️ WARNING: daily-reports partially failed (2/5 targets)');
    expect(mail.text).toContain('--target acme --target globex');
    h.sink.clear();
  });

  it('sends the test email (notify.send) to --to with a realistic sample', async () => {
    await h.bus.publish('notify.send', {
      severity: 'CRITICAL',
      title: 'Vigil test email',
      body: 'Sent by vigil test-email.',
      recipients: ['oncall@example.com'],
    });
    const [mail] = await h.sink.waitForMessages(1);
    expect(mail.subject).toBe('🚨 CRITICAL: Vigil test email');
    expect(mail.to).toEqual(['oncall@example.com']);
    expect(mail.text).toContain('TEST');
    expect(mail.text).toContain('RECOMMENDED ACTIONS');
    expect(mail.text).toContain('STACK TRACE');
    h.sink.clear();
  });

  it('alerts on secrets, webhook and breaker events', async () => {
    const at = new Date().toISOString();
    await h.bus.publish('secrets.refresh-failed', {
      names: ['db', 'api-key'],
      error: { type: 'InternalServiceError', message: 'AWS Secrets Manager 500', class: 'transient' },
      at,
      provider: 'aws', // the advice follows the provider the event names (secrets-actions.ts)
      refreshed: 1,
      total: 9,
    });
    await h.bus.publish('secrets.stale-served', { name: 'db', ageSeconds: 1800, at });
    const mails = await h.sink.waitForMessages(2);
    const subjects = mails.map((m) => m.subject).sort();
    expect(subjects[0]).toMatch(/^⚠️ WARNING: stale secret served: db/);
    expect(subjects[1]).toMatch(/^🚨 CRITICAL: secrets refresh failed: db, api-key — InternalServiceError/);
    expect(mails.find((m) => m.subject.includes('CRITICAL'))!.text).toContain('AWS status');
    h.sink.clear();

    await h.bus.publish('webhook.dead', {
      id: 'wh_1',
      url: 'https://hooks.partner.example/in',
      attempts: 4,
      status: 503,
      error: { type: 'HttpError', message: 'HTTP 503 Service Unavailable', class: 'transient' },
      at,
    });
    await h.bus.publish('breaker.opened.reports.provider-api', {
      service: 'reports',
      name: 'provider-api',
      state: 'open',
      failures: 5,
      at,
    });
    const more = await h.sink.waitForMessages(2);
    const s2 = more.map((m) => m.subject).sort();
    expect(s2[0]).toBe('⚠️ WARNING: circuit breaker reports/provider-api opened');
    expect(s2[1]).toBe('⚠️ WARNING: webhook to hooks.partner.example given up — HttpError');
    expect(more.find((m) => m.subject.includes('webhook'))!.text).toContain('vigil dlq replay');
    h.sink.clear();
  });

  it('counts notifications in vigil_notifications_total', async () => {
    const res = await fetch(`${h.notifier.url}/metrics`);
    const text = await res.text();
    expect(text).toMatch(/vigil_notifications_total\{channel="email",severity="CRITICAL",result="sent"\} [1-9]/);
    expect(text).toMatch(/vigil_notifications_total\{channel="none",severity="CRITICAL",result="duplicate"\} 1/);
  });

  it('a failure that arrives after the recovery that ended it is still sent, marked already resolved', async () => {
    const before = h.sink.messages.length;
    const failedAt = new Date(Date.now() - 60_000);
    const recovered = { ...runData('ledger-sync'), status: 'recovered', error: undefined };
    await h.bus.publish('job.recovered.ledger-sync', recovered);
    await h.sink.waitForMessages(before + 1);
    await h.bus.publish('job.failed.ledger-sync', runData('ledger-sync'), { time: failedAt });
    const mails = await h.sink.waitForMessages(before + 2);
    const late = mails[mails.length - 1];
    expect(late.subject).toBe('🚨 CRITICAL: ledger-sync failed (already resolved) — ConnectionError');
    expect(late.text).toMatch(/Already resolved at/);
  });
});
