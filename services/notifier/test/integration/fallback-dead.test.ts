import { collectEvents, waitFor } from '@vigil/shared/testing';
import { describe, expect, it } from 'vitest';
import { harnessForSuite, runData } from './harness.js';

/**
 * SMTP down and the Slack fallback dead too: the webhooks service gives the notifier's own `<alert id>.slack`
 * webhook up (`webhook.dead`, eventType `vigil.alert`). That must not go through the same dead webhook again (a loop
 * that never reaches anyone): it waits for email, readiness says both channels fail, and once SMTP is back one email
 * tells what the lost Slack message was about.
 */
describe('fallback webhook dead while SMTP is down', () => {
  const hookUrl = 'https://hooks.slack.example.com/services/T000/B000/XXXX';
  const harness = harnessForSuite({ ALERT_WEBHOOK_URL: hookUrl, SMTP_BREAKER_RESET: '1s' });

  const ready = async () => {
    const res = await fetch(`${harness().notifier.url}/health/ready`);
    return {
      status: res.status,
      body: (await res.json()) as { checks: Record<string, { ok: boolean; error?: string }> },
    };
  };

  it('no second fallback, readiness 503 naming both channels, one email about the lost alert once SMTP is back', async () => {
    const h = harness();
    const sends = collectEvents(h.nc, 'webhook.send');
    const failures = collectEvents(h.nc, 'notification.failed');
    await h.sink.stop();
    const data = runData('nightly-export');
    await h.bus.publish('job.failed.nightly-export', data);
    const [send] = await h.events.waitFor('webhook.send', 1, 15_000);
    const slackId = String(send.event.data.id);
    expect(slackId).toMatch(/\.slack$/);
    const alertId = slackId.slice(0, -'.slack'.length);
    // readiness passes while the fallback is only queued (nothing known to be wrong with it yet)
    expect((await ready()).status).toBe(200);

    // what the webhooks service publishes when it gives the Slack message up
    const lastError = 'connect ECONNREFUSED 203.0.113.7:443';
    await h.bus.publish('webhook.dead', {
      id: slackId,
      url: hookUrl,
      eventType: 'vigil.alert',
      at: new Date().toISOString(),
      attempts: 8,
      error: { type: 'VIGIL_E_PERMANENT', message: lastError, class: 'permanent' },
      lastError,
    });

    const [dead] = await h.events.waitFor('webhook.dead', 1, 5_000);
    // Other alerts may take the fallback meanwhile (the SMTP breaker opening is one); the loop is a Slack message
    // about the dead webhook itself: id `<webhook.dead id>.slack`, "webhook to hooks.slack.example.com given up".
    const loop = () =>
      sends.events.filter(
        (e) =>
          e.event.data.id === `${dead.event.id}.slack` ||
          /given up|hooks\.slack\.example\.com/.test(e.event.data.payload.text),
      );
    // Handled: either a second fallback (the loop) or notification.failed for the webhook.dead (email only).
    const handled = await waitFor(
      () => loop().length > 0 || failures.events.find((e) => e.event.data.sourceSubject === 'webhook.dead')?.event.data,
      20_000,
    );
    expect(loop()).toEqual([]);
    expect(handled).toMatchObject({ channel: 'email', error: { code: 'VIGIL_E_ALL_CHANNELS_FAILED' } });

    // readiness: both channels fail
    const notReady = await waitFor(
      async () => {
        const r = await ready();
        return r.status === 503 && !r.body.checks.smtp?.ok ? r : undefined;
      },
      { timeout: 20_000, interval: 200 },
    );
    expect(notReady.body.checks.smtp.error).toMatch(/^SMTP failing/);
    expect(notReady.body.checks.smtp.error).toContain(
      `and the ALERT_WEBHOOK_URL fallback failed too (webhook ${slackId} dead: ${lastError})`,
    );

    // a few redeliveries of the webhook.dead later: still no Slack message about it (no loop), no email. A loop that
    // does not happen has no event to wait for: a bounded wait, long enough for several redeliveries
    await new Promise((r) => setTimeout(r, 4_000));
    expect(loop()).toEqual([]);
    expect(h.sink.messages).toHaveLength(0);

    // SMTP back: the email about the lost fallback arrives, naming the original alert and what it said
    await h.sink.start();
    const mail = await waitFor(
      () => h.sink.messages.find((m) => m.subject.includes('fallback') && m.subject.includes('nightly-export failed')),
      { timeout: 30_000, interval: 100 },
    );
    expect(mail.text).toContain(alertId);
    expect(mail.text).toContain(slackId);
    expect(mail.text).toContain(lastError);
    expect(mail.text).toContain(String(data.runId));
    await h.idle('VIGIL_WEBHOOKS', 'notifier-webhook-dead');
    // a second copy would be late, and "none came" has no event to wait for: a bounded wait
    await new Promise((r) => setTimeout(r, 1_500));
    expect(h.sink.messages.filter((m) => m.subject === mail.subject)).toHaveLength(1);
    // still no second fallback, and nothing else emailed (the original alert went out through the fallback), but
    // for the one notice that email works again: the SMTP breaker's opened alert reached nobody by email (only the
    // fallback took it), so its close is news (breaker-notices.ts)
    const smtpBack = '✅ RESOLVED: circuit breaker notifier/smtp closed again';
    await waitFor(() => h.sink.messages.some((m) => m.subject.startsWith(smtpBack)), 10_000);
    expect(h.sink.messages.filter((m) => m.subject !== mail.subject).map((m) => m.subject)).toEqual([
      expect.stringMatching(/^✅ RESOLVED: circuit breaker notifier\/smtp closed again \(open for \d+ s\)$/),
    ]);
    expect(loop()).toEqual([]);
    // email works again: ready
    await waitFor(async () => (await ready()).status === 200, { timeout: 10_000, interval: 200 });
    sends.stop();
    failures.stop();
  });
});
