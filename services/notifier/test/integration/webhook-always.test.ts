import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, runData, startHarness } from './harness.js';

describe('ALERT_WEBHOOK_MODE=always: a monitoring tool gets every alert, not only when email fails', () => {
  let h: Harness;
  const hookUrl = 'https://monitoring.example.com/hooks/vigil';

  beforeAll(async () => {
    h = await startHarness({ ALERT_WEBHOOK_URL: hookUrl, ALERT_WEBHOOK_MODE: 'always' });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('emails the alert and sends the same alert to the webhook', async () => {
    await h.bus.publish('job.failed.nightly-export', runData('nightly-export'));
    const [mail] = await h.sink.waitForMessages(1);
    expect(mail.subject).toContain('CRITICAL: nightly-export failed');
    const [send] = await h.events.waitFor('webhook.send', 1, 10_000);
    expect(send.event.data).toMatchObject({ url: hookUrl, format: 'raw' });
    expect(send.event.data.payload.text).toContain('nightly-export failed');
    const sent = await h.events.waitFor('notification.sent', 2, 10_000);
    expect(sent.map((e) => e.event.data.channel).sort()).toEqual(['email', 'webhook']);
  });
});
