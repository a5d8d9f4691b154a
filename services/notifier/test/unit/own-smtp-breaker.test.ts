import { createRegistry, type EventBus, vigilMetrics } from '@vigil/shared';
import { describe, expect, it } from 'vitest';
import { Dispatcher } from '../../src/dispatcher.js';
import type { RecipientLookup } from '../../src/recipient-lookup.js';
import { renderSlack } from '../../src/slack-message.js';
import type { OutgoingMail, SmtpChannel, SmtpStatus } from '../../src/smtp-channel.js';
import { toAlert } from '../../src/to-alert.js';
import { capturingLogger } from './capture.js';

const openedAt = '2026-11-24T02:00:05.000Z';
const ownOpened = () =>
  toAlert('breaker.opened.notifier.smtp', {
    id: 'opened-1',
    time: openedAt,
    data: { service: 'notifier', name: 'smtp', state: 'open', at: openedAt },
  })!;

function fakeSmtp(status: SmtpStatus, sent: OutgoingMail[]): SmtpChannel {
  return {
    send: async (mail) => {
      sent.push(mail);
      return { messageId: 'm', accepted: mail.to, refused: [] };
    },
    status: () => status,
    onRecovered: () => undefined,
    close: () => undefined,
  };
}

describe("the notifier's own SMTP breaker opened: the email says what is true when it arrives", () => {
  it('by email (sent once mail worked again): no promise of a RESOLVED email, the breaker state at send time', async () => {
    const sent: OutgoingMail[] = [];
    const back = Date.parse('2026-11-24T02:03:30.000Z');
    const dispatcher = new Dispatcher({
      bus: { publish: async () => undefined } as unknown as EventBus,
      smtp: fakeSmtp({ state: 'closed', since: back }, sent),
      recipients: {
        resolve: async () => ({ recipients: ['ops@example.com'], level: 'admin', invalid: [], problems: [] }),
      } as unknown as RecipientLookup,
      publicUrl: 'http://vigil.example',
      metrics: vigilMetrics(createRegistry()),
      logger: capturingLogger([]),
      now: () => back + 60_000,
    });
    await dispatcher.deliver({ id: 'opened-1', alert: ownOpened() });
    const text = sent[0].text.replace(/\s+/g, ' ');
    expect(text).not.toContain("Check the dependency's status page");
    expect(text).not.toContain('a ✅ RESOLVED email follows');
    expect(text).toContain('This email could only be sent once mail got through again');
    expect(text).toContain('No separate ✅ RESOLVED email follows');
    expect(text).toMatch(/SMTP breaker when sent: closed again: email works since 2026-11-24 02:03:30/);
  });

  it('through the webhook fallback (read while email fails): the RESOLVED email does follow', () => {
    const text = JSON.stringify(renderSlack(ownOpened(), { publicUrl: 'http://vigil.example' }));
    expect(text).toContain("The notifier's email (SMTP) is failing");
    expect(text).toContain('a ✅ RESOLVED email follows then');
    expect(text).not.toContain('status page');
  });
});
