import {
  collectEvents,
  type EventCollector,
  type HttpReceiver,
  startHttpReceiver,
  startRedis,
  type TestServer,
  waitFor,
} from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhooksService } from '@vigil/webhooks';
import { type Harness, runData, startHarness } from './harness.js';

/**
 * SMTP down and the Slack webhook answering HTTP 500: the webhooks service retries each fallback message for a long
 * time (up to WEBHOOKS_MAX_AGE, 3 days by default) before `webhook.dead`. Meanwhile no alert reaches anyone, so
 * readiness must fail once the fallback keeps failing (two failed attempts in a row), not only once it is given up;
 * and pass again once a fallback message is delivered. The real webhooks service and a real HTTP receiver.
 */
describe('readiness while the webhook fallback keeps failing (retrying, not given up yet)', () => {
  let h: Harness;
  let receiver: HttpReceiver;
  let redis: TestServer;
  let webhooks: Awaited<ReturnType<typeof startWebhooksService>>;
  let attempts: EventCollector;
  let outcomes: EventCollector;

  beforeAll(async () => {
    receiver = await startHttpReceiver(() => ({ status: 500, body: 'upstream error' }));
    h = await startHarness({ ALERT_WEBHOOK_URL: `${receiver.url}/slack/alerts`, SMTP_BREAKER_RESET: '1s' });
    attempts = collectEvents(h.nc, 'webhook.attempt-failed');
    outcomes = collectEvents(h.nc, 'webhook.>');
    redis = await startRedis();
    webhooks = await startWebhooksService({
      env: {
        NATS_URL: h.nats.url,
        REDIS_URL: redis.url,
        HTTP_PORT: '0',
        LOG_LEVEL: 'silent',
        WEBHOOKS_ALLOW_PRIVATE: 'true',
        WEBHOOKS_SIGNING_SECRET: `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`,
        // retried for the whole test, never given up: the case a `webhook.dead` does not cover
        WEBHOOKS_MAX_RETRIES: '20',
        WEBHOOKS_BACKOFF_BASE: '200ms',
        WEBHOOKS_BACKOFF_CAP: '1s',
        WEBHOOKS_BREAKER_THRESHOLD: '1000',
      },
      handleSignals: false,
    });
  }, 60_000);
  afterAll(async () => {
    attempts?.stop();
    outcomes?.stop();
    await webhooks?.stop();
    await h?.stop();
    await receiver?.close();
    await redis?.stop();
  });

  const ready = async () => {
    const res = await fetch(`${h.notifier.url}/health/ready`);
    return {
      status: res.status,
      body: (await res.json()) as { checks: Record<string, { ok: boolean; error?: string }> },
    };
  };

  it('fails naming both channels and the last error after the second failed attempt; recovers on a delivery', async () => {
    await h.sink.stop();
    // a few alerts, so that the SMTP breaker opens (readiness follows the breaker, not one failed send)
    for (const job of ['job-a', 'job-b', 'job-c']) await h.bus.publish(`job.failed.${job}`, runData(job));
    const [send] = await h.events.waitFor('webhook.send', 1, 15_000);
    const slackId = String(send.event.data.id);
    expect(slackId).toMatch(/\.slack$/);
    await h.events.waitFor('breaker.opened.notifier.smtp', 1, 15_000);

    // the webhooks service retries our Slack message: HTTP 500, twice
    const ours = () => attempts.events.filter((e) => e.event.data.id === slackId);
    await waitFor(() => ours().length >= 2, 20_000);
    expect(ours()[1].event.data).toMatchObject({ status: 500, eventType: 'vigil.alert' });

    const notReady = await waitFor(
      async () => {
        const r = await ready();
        return r.status === 503 && r.body.checks.smtp?.ok === false ? r : undefined;
      },
      { timeout: 5_000, interval: 100 },
    );
    const error = String(notReady.body.checks.smtp.error);
    expect(error).toMatch(/^SMTP failing \(breaker (open|half-open) since /);
    expect(error).toContain('ALERT_WEBHOOK_URL fallback is failing too');
    expect(error).toMatch(/failing, retrying \(attempt \d+: HTTP 500/);
    expect(error).toMatch(/\d+ failed attempts in a row/);
    // retried, not given up: the dead path has nothing to do with it
    expect(outcomes.of('webhook.dead')).toEqual([]);

    // the Slack webhook works again: a fallback message is delivered, readiness passes (SMTP is still down, but
    // alerts reach people through the fallback)
    receiver.respond(() => ({ status: 200, body: 'ok' }));
    await waitFor(() => outcomes.of('webhook.delivered').some((e) => e.event.data.eventType === 'vigil.alert'), 20_000);
    await waitFor(async () => (await ready()).status === 200, { timeout: 5_000, interval: 100 });
    expect(h.sink.messages).toHaveLength(0);
  });
});
