import { collectEvents, waitFor } from '@vigil/shared/testing';
import { describe, expect, it } from 'vitest';
import { harnessForSuite, runData } from './harness.js';

/**
 * The live incident: SMTP down, the Slack webhook answering HTTP 500 (retried by the webhooks service, not given up
 * yet), then SMTP back while the webhook still fails. The alerts handed to the webhook must be emailed once email works,
 * `sent` must count deliveries (not hand-overs), and the ✅ RESOLVED of the SMTP breaker must say what was delivered.
 * The webhooks service is played here by publishing its events (webhook.attempt-failed / webhook.delivered).
 */
describe('alerts handed to a failing webhook fallback are emailed once SMTP is back', () => {
  const hookUrl = 'https://hooks.slack.example.com/services/T000/B000/XXXX';
  const harness = harnessForSuite({ ALERT_WEBHOOK_URL: hookUrl, SMTP_BREAKER_RESET: '1s' });

  const metric = async (labels: string) => {
    const text = await (await fetch(`${harness().notifier.url}/metrics`)).text();
    const m = new RegExp(`vigil_notifications_total\\{${labels}\\} (\\d+)`).exec(text);
    return m ? Number(m[1]) : 0;
  };

  it('emails the undelivered ones (not the delivered one), counts sent on delivery, and the RESOLVED says so', async () => {
    const h = harness();
    const sends = collectEvents(h.nc, 'webhook.send');
    await h.sink.stop();
    const jobs = ['job-a', 'job-b', 'job-c', 'job-d'];
    for (const job of jobs) await h.bus.publish(`job.failed.${job}`, runData(job));
    const slackOf = (job: string) =>
      sends.events.find((e) => String(e.event.data.payload.text).includes(`${job} failed`))?.event.data;
    await waitFor(() => jobs.every((j) => slackOf(j)), 20_000);
    await h.events.waitFor('breaker.opened.notifier.smtp', 1, 15_000);

    // handed over only: nothing counted as sent yet
    expect(await metric('channel="webhook",severity="CRITICAL",result="queued"')).toBeGreaterThanOrEqual(4);
    expect(await metric('channel="webhook",severity="CRITICAL",result="sent"')).toBe(0);

    // the webhooks service: job-a delivered, every other Slack message (the breaker's opened alert too) HTTP 500
    const at = new Date().toISOString();
    await h.bus.publish('webhook.delivered', {
      id: slackOf('job-a')?.id,
      url: hookUrl,
      eventType: 'vigil.alert',
      at,
      attempt: 1,
      status: 200,
      durationMs: 5,
    });
    await waitFor(() => sends.events.some((e) => /notifier\/smtp opened/.test(e.event.data.payload.text)), 15_000);
    for (const e of sends.events) {
      if (e.event.data.id === slackOf('job-a')?.id) continue;
      await h.bus.publish('webhook.attempt-failed', {
        id: e.event.data.id,
        url: hookUrl,
        eventType: 'vigil.alert',
        at,
        attempt: 1,
        status: 500,
        error: {
          type: 'VIGIL_E_HTTP_STATUS',
          code: 'VIGIL_E_HTTP_STATUS',
          message: 'HTTP 500: upstream error',
          class: 'transient',
        },
        nextAttemptAt: new Date(Date.now() + 60_000).toISOString(),
        durationMs: 5,
      });
    }
    await waitFor(async () => (await metric('channel="webhook",severity="CRITICAL",result="sent"')) === 1, 5_000);

    await h.sink.start();
    const mails = await waitFor(() => {
      const got = h.sink.messages.filter((m) => /job-[bcd] failed/.test(m.subject));
      return got.length >= 3 ? got : undefined;
    }, 20_000);
    for (const m of mails) {
      expect(m.text.replace(/\s+/g, ' ')).toMatch(
        /Webhook fallback: sent to ALERT_WEBHOOK_URL at .* not delivered there \(1 attempt\(s\) failed, last: HTTP 500: upstream error\); emailed now that email works again/,
      );
    }
    const notice = await waitFor(
      () => h.sink.messages.find((m) => /RESOLVED: circuit breaker notifier\/smtp closed/.test(m.subject)),
      20_000,
    );
    const text = notice.text.replace(/\s+/g, ' ');
    expect(text).not.toContain('those that went through the webhook fallback meanwhile are not emailed again');
    expect(text).toMatch(
      /Opened alerts sent: \d+ handed to the webhook fallback \(queued for ALERT_WEBHOOK_URL; not a confirmed delivery\)/,
    );
    expect(text).toMatch(
      /Webhook fallback: 4 alert\(s\) handed to it during the outage \(besides this breaker's own\): 1 delivered to ALERT_WEBHOOK_URL; 3 not delivered there \(last: HTTP 500: upstream error\): being emailed now/,
    );
    // job-a reached Slack: not emailed again; each undelivered one emailed once; the breaker's own opened alert is
    // not emailed after the fact (the RESOLVED notice is the news)
    expect(h.sink.messages.filter((m) => /notifier\/smtp opened/.test(m.subject))).toHaveLength(0);
    // emails that should not come have no event to wait for: a bounded wait before counting
    await new Promise((r) => setTimeout(r, 1_000));
    expect(h.sink.messages.filter((m) => /job-a failed/.test(m.subject))).toHaveLength(0);
    for (const j of ['job-b', 'job-c', 'job-d']) {
      expect(h.sink.messages.filter((m) => m.subject.includes(`${j} failed`))).toHaveLength(1);
    }
    sends.stop();
  });
});
