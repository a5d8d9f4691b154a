import { createRegistry, type EventBus, type VigilMetrics, vigilMetrics } from '@vigil/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dispatcher } from '../../src/dispatcher.js';
import { failureReason } from '../../src/fallback-note.js';
import type { RecipientLookup } from '../../src/recipient-lookup.js';
import { createSmtpChannel, type SmtpChannel } from '../../src/smtp-channel.js';
import { toAlert } from '../../src/to-alert.js';
import { failedEvent } from '../unit/fixtures.js';
import { capturingLogger, type LogLine } from '../unit/capture.js';
import { type PickySmtp, startPickySmtp } from './picky-smtp.js';

const partialAlert = () =>
  toAlert(
    'job.partial.nw-partial',
    failedEvent({
      job: 'nw-partial',
      status: 'partial',
      stats: { targets: 5, succeeded: 3, failed: 2, skipped: 0 },
      failures: [{ target: 'acme', error: 'HttpError: 503' }],
    }),
  )!;

const metricValue = async (m: VigilMetrics, labels: Record<string, string>) => {
  const { values } = await m.notificationsTotal.get();
  return values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k as keyof typeof v.labels] === x))
    ?.value;
};

/** An SMTP channel to `url` that tries each send once (2 s timeout) and keeps its log lines to itself. */
const singleTryChannel = (url: string): SmtpChannel =>
  createSmtpChannel({
    url,
    from: 'vigil@localhost',
    timeoutMs: 2_000,
    breakerResetMs: 60_000,
    logger: capturingLogger([]),
    retries: 0,
  });

describe('a recipient the mail server refuses while it accepts the others (nw-partial live incident)', () => {
  let picky: PickySmtp;
  let smtp: SmtpChannel;
  const to = ['good@example.com', 'refuse-me@blocked.example'];
  const lookup = {
    resolve: async () => ({ recipients: to, level: 'job', invalid: [], problems: [] }),
  } as unknown as RecipientLookup;

  beforeAll(async () => {
    picky = await startPickySmtp(['refuse-me@blocked.example']);
    smtp = singleTryChannel(picky.url);
  });
  afterAll(async () => {
    smtp?.close();
    await picky?.close();
  });

  const dispatcherWith = (over: { webhookUrl?: string; adminEmail?: string }) => {
    const lines: LogLine[] = [];
    const published: Array<{ subject: string; data: Record<string, unknown> }> = [];
    const bus = {
      publish: async (subject: string, data: Record<string, unknown>) => {
        published.push({ subject, data });
      },
    } as unknown as EventBus;
    const metrics = vigilMetrics(createRegistry());
    const dispatcher = new Dispatcher({
      bus,
      smtp,
      recipients: lookup,
      publicUrl: 'http://vigil.example',
      metrics,
      logger: capturingLogger(lines),
      now: () => Date.now(),
      ...over,
    });
    return { dispatcher, lines, published, metrics };
  };

  it('the channel reports the refused recipient with the server reply', async () => {
    const info = await smtp.send({ to, subject: 's', html: '<p>x</p>', text: 'x' });
    expect(info.accepted).toEqual(['good@example.com']);
    expect(info.refused).toEqual([
      {
        address: 'refuse-me@blocked.example',
        reply: expect.stringMatching(/^550 5\.1\.1 .*Recipient address rejected/),
      },
    ]);
  });

  it('warns naming the address and reply, counts it rejected, says so in notification.sent, and posts to the webhook', async () => {
    const { dispatcher, lines, published, metrics } = dispatcherWith({
      webhookUrl: 'https://hooks.example/slack',
      adminEmail: 'admin@example.com',
    });
    picky.messages.length = 0;
    await expect(dispatcher.deliver({ id: 'evt-partial-1', alert: partialAlert() })).resolves.toEqual({
      channel: 'email',
    });
    expect(picky.messages.map((m) => m.rcptTo)).toEqual([['good@example.com']]);

    const warn = lines.find((l) => l.level === 'warn' && l.msg.includes('refused'));
    expect(warn?.msg).toContain('refuse-me@blocked.example (550 5.1.1');
    expect(warn?.fields.refused).toEqual([
      { address: 'refuse-me@blocked.example', reply: expect.stringMatching(/^550/) },
    ]);

    expect(await metricValue(metrics, { channel: 'email', result: 'rejected' })).toBe(1);
    const sent = published.find((p) => p.subject === 'notification.sent' && p.data.channel === 'email');
    expect(sent?.data.recipients).toEqual(['good@example.com']);
    expect(sent?.data.refused).toEqual([
      { address: 'refuse-me@blocked.example', reply: expect.stringMatching(/^550/) },
    ]);

    // the refused recipient learns it through the fallback webhook, as when email fails for everyone
    const hook = published.find((p) => p.subject === 'webhook.send');
    const text = String((hook?.data.payload as { text?: string } | undefined)?.text);
    expect(text).toContain('nw-partial partially failed');
    expect(text).toMatch(
      /Email partly refused: the mail server refused refuse-me@blocked\.example \(550 5\.1\.1 .*\); good@example\.com got the email/,
    );
  });

  it('without a webhook: ADMIN_EMAIL gets the alert with a line saying who was refused', async () => {
    const { dispatcher, lines } = dispatcherWith({ adminEmail: 'admin@example.com' });
    picky.messages.length = 0;
    await dispatcher.deliver({ id: 'evt-partial-2', alert: partialAlert() });
    expect(picky.messages.map((m) => m.rcptTo)).toEqual([['good@example.com'], ['admin@example.com']]);
    const admin = picky.messages[1].data.replace(/=\r\n/g, '');
    expect(admin).toMatch(/Refused recipients:\s+the mail server refused refuse-me@blocked\.example \(550/);
    expect(
      lines.some((l) => l.level === 'warn' && l.msg.includes('refused recipients: alert sent to ADMIN_EMAIL')),
    ).toBe(true);
  });
});

describe('an SMTP error says the server reply once', () => {
  it('a 421 greeting: `Invalid greeting: 421 …` in the error, its cause and the fallback reason', async () => {
    const picky = await startPickySmtp([]);
    picky.greeting = '421 service not available';
    const smtp = singleTryChannel(picky.url);
    try {
      const err = (await smtp
        .send({ to: ['ops@example.com'], subject: 's', html: 'x', text: 'x' })
        .catch((e) => e)) as Error;
      expect(err.message).toBe('SMTP send failed: Invalid greeting: 421 service not available');
      expect((err.cause as Error).message).toBe('Invalid greeting: 421 service not available');
      const reason = failureReason(err);
      expect(reason.split('421 service not available')).toHaveLength(2);
      expect(smtp.status().lastError?.split('421 service not available')).toHaveLength(2);
    } finally {
      smtp.close();
      await picky.close();
    }
  });
});
