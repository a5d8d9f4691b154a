import { type HttpReceiver, startHttpReceiver, startRedis, type TestServer, waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhooksService } from '@vigil/webhooks';
import { type Harness, runData, startHarness } from './harness.js';

describe('fallback channel: SMTP down -> Slack-compatible webhook', () => {
  let h: Harness;
  let receiver: HttpReceiver;
  let redis: TestServer;
  let webhooks: Awaited<ReturnType<typeof startWebhooksService>>;
  let hookUrl: string;

  beforeAll(async () => {
    receiver = await startHttpReceiver();
    hookUrl = `${receiver.url}/slack/alerts`;
    h = await startHarness({ ALERT_WEBHOOK_URL: hookUrl, SMTP_BREAKER_RESET: '1s' });
    redis = await startRedis();
    webhooks = await startWebhooksService({
      env: {
        NATS_URL: h.nats.url,
        REDIS_URL: redis.url,
        HTTP_PORT: '0',
        LOG_LEVEL: 'silent',
        WEBHOOKS_ALLOW_PRIVATE: 'true',
        WEBHOOKS_SIGNING_SECRET: `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`,
      },
      handleSignals: false,
    });
  });
  afterAll(async () => {
    await webhooks?.stop();
    await h?.stop();
    await receiver?.close();
    await redis?.stop();
  });

  it('sends the alert as Slack JSON via webhook.send while the SMTP server is down, then email resumes', async () => {
    await h.sink.stop();
    const data = runData('nightly-export');
    await h.bus.publish('job.failed.nightly-export', data);

    const [send] = await h.events.waitFor('webhook.send', 1, 15_000);
    expect(send.event.data.url).toBe(hookUrl);
    expect(send.event.data.id).toMatch(/\.slack$/);
    expect(send.event.data.payload.text).toContain('🚨 CRITICAL: nightly-export failed — ConnectionError');
    expect(Array.isArray(send.event.data.payload.blocks)).toBe(true);
    const sent = await h.events.waitFor('notification.sent');
    expect(sent[0].event.data).toMatchObject({ channel: 'webhook', severity: 'CRITICAL' });

    const req = await waitFor(() => receiver.requests.find((r) => r.url === '/slack/alerts'), 15_000);
    // format 'raw': exactly the Slack message at the top level (an incoming webhook rejects an envelope),
    // still signed with the Standard Webhooks headers.
    expect(send.event.data.format).toBe('raw');
    const body = JSON.parse(req.body);
    expect(body).toEqual(send.event.data.payload);
    expect(Object.keys(body).sort()).toEqual(['blocks', 'text']);
    expect(req.headers['content-type']).toMatch(/^application\/json/);
    expect(req.headers['webhook-id']).toBe(send.event.data.id);
    expect(req.headers['webhook-signature']).toMatch(/^v1,/);
    expect(body.text).toContain('nightly-export failed');
    expect(JSON.stringify(body.blocks)).toContain(String(data.runId));
    expect(JSON.stringify(body)).not.toContain('<script>');

    await h.sink.start();
    await h.bus.publish('job.failed.nightly-export', runData('nightly-export'));
    const [mail] = await h.sink.waitForMessages(1, 15_000);
    expect(mail.subject).toBe('🚨 CRITICAL: nightly-export failed — ConnectionError');
    h.sink.clear();
  });

  it('opens the SMTP breaker when the server keeps failing, then probes and resumes email', async () => {
    // (stop() would keep the pooled connection alive; a server answering 451 to everything is a real outage too)
    h.sink.setMode('reject');
    const before = (await h.events.waitFor('webhook.send')).length;
    for (const job of ['a-job', 'b-job', 'c-job']) await h.bus.publish(`job.failed.${job}`, runData(job));
    await h.events.waitFor('webhook.send', before + 3, 15_000);
    const open = await waitFor(async () => {
      const text = await (await fetch(`${h.notifier.url}/metrics`)).text();
      return /vigil_breaker_state\{service="notifier",name="smtp"\} 2/.test(text) ? text : undefined;
    });
    expect(open).toContain('vigil_notifications_total{channel="webhook",severity="CRITICAL",result="sent"}');
    await h.events.waitFor('breaker.opened.notifier.smtp');

    h.sink.setMode('accept');
    // The breaker lets a probe through after SMTP_BREAKER_RESET (1 s here); keep alerting until email is back.
    // Alerts that were handed back while SMTP was failing may be delivered first; d-job's must arrive too.
    await waitFor(
      async () => {
        await h.bus.publish('job.failed.d-job', runData('d-job'));
        return h.sink.messages.some((m) => m.subject === '🚨 CRITICAL: d-job failed — ConnectionError');
      },
      { timeout: 15_000, interval: 500 },
    );
  });
});

describe('every channel down: the alert stays in the stream until one works', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('publishes notification.failed, keeps the message, and emails once SMTP is back', async () => {
    h.sink.setMode('reject');
    const data = runData('payments');
    await h.bus.publish('job.failed.payments', data);
    const [failed] = await h.events.waitFor('notification.failed', 1, 15_000);
    expect(failed.event.data).toMatchObject({ severity: 'CRITICAL', sourceSubject: 'job.failed.payments' });
    expect(failed.event.data.error.code).toBe('VIGIL_E_ALL_CHANNELS_FAILED');
    h.sink.setMode('accept');
    const [mail] = await h.sink.waitForMessages(1, 20_000);
    expect(mail.text).toContain(String(data.runId));
    await h.idle('VIGIL_JOBS', 'notifier-job-failed');
    expect(h.sink.messages.length).toBe(1);
  });

  it('a permanent SMTP refusal (550: relay denied, auth failed) is retried too, not dead-lettered', async () => {
    h.sink.setMode('refuse');
    const data = runData('ledger');
    await h.bus.publish('job.failed.ledger', data);
    const [failed] = await h.events.waitFor('notification.failed', 2, 15_000).then((all) => all.slice(-1));
    expect(failed.event.data).toMatchObject({ sourceSubject: 'job.failed.ledger' });
    expect(failed.event.data.error.code).toBe('VIGIL_E_ALL_CHANNELS_FAILED');
    // the operator fixes the mail server: the alert still goes out
    h.sink.setMode('accept');
    const mails = await h.sink.waitForMessages(2, 20_000);
    expect(mails[1].text).toContain(String(data.runId));
  });

  it('an alert no channel took until ALERT_MAX_AGE goes to the DLQ (replayable), not silently away', async () => {
    const own = await startHarness({ ALERT_MAX_AGE: '1h' });
    try {
      own.sink.setMode('reject');
      // published 1 h minus 3 s ago: the first deliveries fail, a later one finds it past ALERT_MAX_AGE
      await own.bus.publish('job.failed.archive', runData('archive'), {
        time: new Date(Date.now() - 3_600_000 + 3_000),
      });
      const [dead] = await own.events.waitFor('dlq.job.failed.archive', 1, 20_000);
      expect(dead.headers['Vigil-Error']).toMatch(/could not be delivered within ALERT_MAX_AGE/);
      expect(own.sink.messages).toHaveLength(0);
    } finally {
      await own.stop();
    }
  });
});
