import {
  createLogger,
  createRegistry,
  ErrorCode,
  type EventBus,
  errorCodeOf,
  TransientError,
  vigilMetrics,
} from '@vigil/shared';
import { describe, expect, it } from 'vitest';
import { Dispatcher } from '../../src/dispatcher.js';
import { type FallbackRecord, FallbackHealth, withFallbackRecord } from '../../src/lost-fallback.js';
import type { RecipientLookup } from '../../src/recipient-lookup.js';
import { renderEmail } from '../../src/render-email.js';
import type { SmtpChannel } from '../../src/smtp-channel.js';
import { smtpCheck } from '../../src/smtp-check.js';
import { toAlert } from '../../src/to-alert.js';
import { failedEvent } from './fixtures.js';

const hook = 'https://hooks.slack.com/services/T0/B0/…';
const deadData = (over: Record<string, unknown> = {}) => ({
  id: '01JFAILED000000000000000001.slack',
  url: hook,
  eventType: 'vigil.alert',
  at: '2026-11-24T02:10:00.000Z',
  attempts: 8,
  status: 404,
  lastStatusCode: 404,
  error: { type: 'VIGIL_E_HTTP_STATUS', message: 'HTTP 404: no_service', class: 'permanent' },
  lastError: 'HTTP 404: no_service',
  ...over,
});
const dead = (over: Record<string, unknown> = {}) =>
  toAlert('webhook.dead', { id: '01JDEAD0000000000000000001', time: '2026-11-24T02:10:00.000Z', data: deadData(over) });

const record: FallbackRecord = {
  alertId: '01JFAILED000000000000000001',
  eventId: '01JFAILED000000000000000001',
  subject: 'job.failed.daily-reports',
  severity: 'CRITICAL',
  headline: 'daily-reports failed',
  title: '🚨 CRITICAL: daily-reports failed — ConnectionError',
  error: 'ConnectionError: connect ECONNREFUSED 10.0.0.5:443',
  job: 'daily-reports',
  runId: '01RUN00000000000000000000A',
  occurredAt: '2026-11-24T02:00:05.000Z',
  copy: false,
  emailError: 'SMTP send failed: connect ECONNREFUSED 127.0.0.1:1025',
  at: Date.parse('2026-11-24T02:00:06.000Z'),
};

describe('webhook.dead of the notifier’s own Slack message', () => {
  it('is an email-only alert naming the alert id when nothing else is known', () => {
    const a = dead();
    expect(a).toMatchObject({
      kind: 'webhook-dead',
      severity: 'CRITICAL',
      emailOnly: true,
      lostFallback: {
        webhookId: '01JFAILED000000000000000001.slack',
        alertId: '01JFAILED000000000000000001',
        lastError: 'HTTP 404: no_service',
      },
    });
    expect(a?.headline).toBe(
      'undelivered alert 01JFAILED000000000000000001 (email and the webhook fallback both failed)',
    );
    expect(a?.error).toBeUndefined();
    expect(a?.body).toContain('vigil dlq list');
    expect(a?.facts).toContainEqual(['Alert id', '01JFAILED000000000000000001']);
  });

  it('another webhook.dead (any other event type) stays the usual WARNING, not email-only', () => {
    const a = toAlert('webhook.dead', {
      id: '01JDEAD0000000000000000002',
      data: deadData({ id: 'order-42', eventType: 'order.created' }),
    });
    expect(a).toMatchObject({ severity: 'WARNING', headline: 'webhook to hooks.slack.com given up' });
    expect(a?.emailOnly).toBeUndefined();
    expect(a?.lostFallback).toBeUndefined();
  });

  it('with its record: says what the lost message said, for the job’s recipients, with the run', () => {
    const a = withFallbackRecord(dead() as NonNullable<ReturnType<typeof dead>>, record);
    expect(a.headline).toBe('undelivered alert: daily-reports failed (email and the webhook fallback both failed)');
    expect(a).toMatchObject({ severity: 'CRITICAL', job: 'daily-reports', run: { runId: record.runId } });
    expect(a.emailOnly).toBe(true);
    const mail = renderEmail(a, { publicUrl: 'http://vigil.example' });
    expect(mail.subject).toBe(
      '🚨 CRITICAL: undelivered alert: daily-reports failed (email and the webhook fallback both failed)',
    );
    for (const s of [record.title, record.error, record.emailError, 'HTTP 404: no_service', record.eventId]) {
      expect(mail.text).toContain(s);
    }
    expect(mail.text).toContain('Act on the alert described above');
    expect(mail.text).toContain('http://vigil.example/api/runs/01RUN00000000000000000000A');
  });

  it('a lost copy (ALERT_WEBHOOK_MODE=always) is a WARNING: the alert itself was emailed', () => {
    const copy = { ...record, copy: true, emailError: undefined };
    const a = withFallbackRecord(dead() as NonNullable<ReturnType<typeof dead>>, copy);
    expect(a).toMatchObject({ severity: 'WARNING', emailOnly: true });
    expect(a.headline).toBe('webhook copy lost: daily-reports failed (the alert itself was emailed)');
  });
});

describe('Dispatcher: an email-only alert never goes to the webhook', () => {
  const smtpDown = new TransientError('SMTP send failed: connect ECONNREFUSED', { code: ErrorCode.SMTP_FAILED });
  const build = () => {
    const published: Array<[string, Record<string, unknown>]> = [];
    const recorded: string[] = [];
    const d = new Dispatcher({
      bus: {
        publish: async (subject: string, data: Record<string, unknown>) => {
          published.push([subject, data]);
        },
      } as unknown as EventBus,
      smtp: {
        send: async () => {
          throw smtpDown;
        },
      } as unknown as SmtpChannel,
      recipients: {
        resolve: async () => ({ recipients: ['ops@example.com'], level: 'admin', invalid: [], problems: [] }),
      } as unknown as RecipientLookup,
      webhookUrl: hook,
      publicUrl: 'http://x',
      metrics: vigilMetrics(createRegistry()),
      logger: createLogger({ service: 'test', level: 'silent' }),
      now: () => Date.parse('2026-11-24T02:00:06.000Z'),
      fallbackLog: {
        recordFallback: async (id: string) => {
          recorded.push(id);
        },
      },
    });
    return { d, published, recorded };
  };

  it('a normal alert falls back (and is recorded under its webhook id); the lost-fallback alert waits', async () => {
    const { d, published, recorded } = build();
    const alert = toAlert('job.failed.daily-reports', failedEvent());
    await expect(d.deliver({ id: '01JFAILED000000000000000001', alert: alert! })).resolves.toEqual({
      channel: 'webhook',
    });
    expect(recorded).toEqual(['01JFAILED000000000000000001.slack']);
    expect(published.filter(([s]) => s === 'webhook.send')).toHaveLength(1);

    const lost = dead();
    const err = await d.deliver({ id: '01JDEAD0000000000000000001', alert: lost! }).catch((e: unknown) => e);
    expect(errorCodeOf(err)).toBe(ErrorCode.ALL_CHANNELS_FAILED);
    expect(published.filter(([s]) => s === 'webhook.send')).toHaveLength(1);
    const failed = published.filter(([s]) => s === 'notification.failed').at(-1)?.[1];
    expect(failed).toMatchObject({ channel: 'email', sourceSubject: 'webhook.dead' });
  });
});

describe('readiness when the fallback failed too', () => {
  const since = Date.parse('2026-12-05T15:54:47.000Z');
  it('fails naming both channels while SMTP fails and the fallback is known dead', () => {
    const s = { state: 'open' as const, since, lastError: 'SMTP send failed: connect ECONNREFUSED' };
    expect(() => smtpCheck(s, true, { kind: 'dead', id: '01J.slack', lastError: 'HTTP 404: no_service' })).toThrow(
      'SMTP failing (breaker open since 2026-12-05T15:54:47.000Z: SMTP send failed: connect ECONNREFUSED) and the ALERT_WEBHOOK_URL fallback failed too (webhook 01J.slack dead: HTTP 404: no_service); alerts wait until email works',
    );
    // email works: ready, whatever the fallback does
    expect(() => smtpCheck({ state: 'closed', since }, true, { kind: 'dead', id: 'x', lastError: 'y' })).not.toThrow();
  });

  it('FallbackHealth: a dead fallback counts for the window, or until a later one is delivered', () => {
    let now = 1_000_000;
    const h = new FallbackHealth(() => now, 15 * 60_000);
    expect(h.failure()).toBeUndefined();
    h.noteDead('a.slack', 'HTTP 404', now - 5_000);
    expect(h.failure()).toEqual({ kind: 'dead', id: 'a.slack', lastError: 'HTTP 404' });
    now += 15 * 60_000;
    expect(h.failure()).toBeUndefined();
    // seen again (its alert redelivered while email fails): counts again
    h.noteDead('a.slack', 'HTTP 404', now - 15 * 60_000 - 5_000);
    expect(h.failure()?.id).toBe('a.slack');
    // a later fallback got through: the channel works
    h.noteDelivered(now - 1_000);
    expect(h.failure()).toBeUndefined();
    // a death older than that delivery does not bring it back
    h.noteDead('b.slack', 'timeout', now - 2_000);
    expect(h.failure()).toBeUndefined();
    h.noteDead('c.slack', 'timeout', now);
    expect(h.failure()?.id).toBe('c.slack');
  });

  it('fails saying "retrying" while the fallback is retried and failing, apart from given up', () => {
    const s = { state: 'half-open' as const, since, lastError: 'SMTP send failed: connect ECONNREFUSED' };
    const retrying = { kind: 'retrying' as const, id: '01J.slack', lastError: 'HTTP 500: upstream error' };
    expect(() => smtpCheck(s, true, { ...retrying, attempt: 3, failedInRow: 4 })).toThrow(
      'SMTP failing (breaker half-open since 2026-12-05T15:54:47.000Z: SMTP send failed: connect ECONNREFUSED) and the ALERT_WEBHOOK_URL fallback is failing too (4 failed attempts in a row, none delivered since; webhook 01J.slack failing, retrying (attempt 3: HTTP 500: upstream error)); alerts reach nobody until email or the webhook works again',
    );
    // no attempt number in the event: the error alone
    expect(() => smtpCheck(s, true, { ...retrying, failedInRow: 2 })).toThrow(
      /webhook 01J\.slack failing, retrying \(HTTP 500: upstream error\)\);/,
    );
    expect(() => smtpCheck({ state: 'closed', since }, true, { ...retrying, failedInRow: 9 })).not.toThrow();
  });

  it('FallbackHealth: failed attempts count from the second in a row (any of our messages) until one is delivered', () => {
    let now = 1_000_000;
    const h = new FallbackHealth(() => now, 15 * 60_000);
    // one failed attempt may be a blip the retry gets through
    h.noteAttemptFailed('a.slack', 1, 'HTTP 500: upstream error', now - 3_000);
    expect(h.failure()).toBeUndefined();
    // a second in a row, of another message: the channel fails
    h.noteAttemptFailed('b.slack', 1, 'timeout', now - 2_000);
    expect(h.failure()).toEqual({ kind: 'retrying', id: 'b.slack', lastError: 'timeout', attempt: 1, failedInRow: 2 });
    // an older attempt reported late adds to the run, the latest stays the one named
    h.noteAttemptFailed('a.slack', 2, 'HTTP 502', now - 2_500);
    expect(h.failure()).toMatchObject({ id: 'b.slack', lastError: 'timeout', failedInRow: 3 });
    // a delivery after them: ready again; attempts that failed before it do not count
    h.noteDelivered(now - 1_000);
    expect(h.failure()).toBeUndefined();
    h.noteAttemptFailed('a.slack', 3, 'HTTP 500', now - 1_500);
    h.noteAttemptFailed('a.slack', 4, 'HTTP 500', now - 1_200);
    expect(h.failure()).toBeUndefined();
    // after it: one, then two in a row
    h.noteAttemptFailed('a.slack', 5, 'HTTP 500', now);
    expect(h.failure()).toBeUndefined();
    h.noteAttemptFailed('a.slack', 6, 'HTTP 503', now);
    expect(h.failure()).toMatchObject({ kind: 'retrying', attempt: 6, lastError: 'HTTP 503', failedInRow: 2 });
    // nothing failed for the window: no longer counts, and the next one starts a new run
    now += 15 * 60_000;
    expect(h.failure()).toBeUndefined();
    h.noteAttemptFailed('a.slack', 7, 'HTTP 500', now);
    expect(h.failure()).toBeUndefined();
    h.noteAttemptFailed('a.slack', 8, 'HTTP 500', now);
    expect(h.failure()?.kind).toBe('retrying');
    // a delivery reported out of order, between failed attempts: the latest outcome is still a failure, but only
    // that one is known to come after the delivery
    h.noteDelivered(now - 1);
    expect(h.failure()).toBeUndefined();
    h.noteAttemptFailed('a.slack', 9, 'HTTP 500', now + 1);
    expect(h.failure()).toMatchObject({ kind: 'retrying', attempt: 9, failedInRow: 2 });
    // given up says more than retried: the dead one is named while it counts
    h.noteDead('c.slack', 'HTTP 404', now + 2);
    expect(h.failure()).toEqual({ kind: 'dead', id: 'c.slack', lastError: 'HTTP 404' });
    h.noteDelivered(now + 3);
    expect(h.failure()).toBeUndefined();
  });
});
