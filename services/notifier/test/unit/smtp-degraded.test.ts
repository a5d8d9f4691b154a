import { createLogger, ErrorCode, TransientError } from '@vigil/shared';
import { describe, expect, it } from 'vitest';
import { failureReason, withEmailFailure } from '../../src/fallback-note.js';
import { Redrive } from '../../src/redrive.js';
import { smtpCheck } from '../../src/smtp-check.js';
import { renderSlack } from '../../src/slack-message.js';
import { type EventLike, toAlert } from '../../src/to-alert.js';
import { failedEvent } from './fixtures.js';

const logger = createLogger({ service: 'test', level: 'silent' });
const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1025'), { code: 'ESOCKET' });
const smtpFailed = new TransientError('SMTP send failed: connect ECONNREFUSED 127.0.0.1:1025', {
  code: ErrorCode.SMTP_FAILED,
  cause: refused,
});

describe('fallback message: says that email failed and why', () => {
  it('reads the error chain once, however it was wrapped', () => {
    expect(failureReason(smtpFailed)).toBe('SMTP send failed: connect ECONNREFUSED 127.0.0.1:1025');
    const open = new TransientError('breaker smtp is open', { code: ErrorCode.BREAKER_OPEN, cause: smtpFailed });
    expect(failureReason(open)).toBe('breaker smtp is open: SMTP send failed: connect ECONNREFUSED 127.0.0.1:1025');
    expect(failureReason('plain text')).toBe('plain text');
  });

  it('adds the line under the header and to the text, mrkdwn-escaped', () => {
    const slack = renderSlack(toAlert('job.failed.daily-reports', failedEvent())!, { publicUrl: 'http://x' });
    const m = withEmailFailure(slack, 'SMTP send failed: 550 <relay> denied & more');
    const line =
      '⚠️ Email delivery failed: SMTP send failed: 550 &lt;relay&gt; denied &amp; more; this message came through the fallback webhook.';
    expect(m.blocks[0]).toEqual(slack.blocks[0]);
    expect(m.blocks[1]).toEqual({ type: 'section', text: { type: 'mrkdwn', text: line } });
    expect(m.blocks.slice(2)).toEqual(slack.blocks.slice(1));
    expect(m.text.startsWith(slack.text)).toBe(true);
    expect(m.text.endsWith(`\n${line}`)).toBe(true);
    // a long reason is clipped; the text stays within Slack's 3000 characters with the note kept whole
    const long = withEmailFailure({ text: 'x'.repeat(3000), blocks: [] }, 'y'.repeat(2000));
    expect(long.text.length).toBeLessThanOrEqual(3000);
    expect(long.text).toMatch(/y…; this message came through the fallback webhook\.$/);
  });
});

describe('smtp readiness check', () => {
  const since = Date.parse('2026-12-05T15:54:47.000Z');
  it('fails while the breaker is open or half-open and there is no fallback, naming the state and the error', () => {
    expect(() => smtpCheck({ state: 'closed', since }, false)).not.toThrow();
    expect(() =>
      smtpCheck({ state: 'half-open', since, lastError: 'SMTP send failed: connect ECONNREFUSED' }, false),
    ).toThrow(
      'SMTP breaker half-open, email failing since 2026-12-05T15:54:47.000Z: SMTP send failed: connect ECONNREFUSED; no ALERT_WEBHOOK_URL fallback, so alerts wait until email works',
    );
    expect(() => smtpCheck({ state: 'open', since }, false)).toThrow(
      /^SMTP breaker open, email failing since 2026-12-05T15:54:47.000Z; no ALERT_WEBHOOK_URL/,
    );
  });

  it('passes with a fallback: alerts still go out', () => {
    expect(() => smtpCheck({ state: 'open', since, lastError: 'x' }, true)).not.toThrow();
    expect(() => smtpCheck({ state: 'half-open', since }, true)).not.toThrow();
  });
});

describe('Redrive: alerts waiting for SMTP go out when it recovers', () => {
  const ev = (n: number): EventLike => failedEvent({}, `01JWAITING00000000000000000${n}`);
  const allFailed = () =>
    new TransientError('every channel failed', { code: ErrorCode.ALL_CHANNELS_FAILED, cause: smtpFailed });

  it('sends oldest first, forgets what was delivered, stops at the first that still fails', async () => {
    const calls: string[] = [];
    let down = false;
    const r = new Redrive({
      logger,
      handle: async (_subject, event, _log, deliveries) => {
        calls.push(`${event.id.slice(-1)}@${deliveries}`);
        if (down) throw allFailed();
      },
    });
    r.remember('job.failed.a', ev(1), 2, 'c1');
    r.remember('job.failed.a', ev(2), 1, 'c2');
    r.remember('job.failed.a', ev(3), 1, 'c3');
    r.forget(ev(2).id); // delivered by the broker's own redelivery meanwhile
    down = true;
    await r.flush();
    expect(calls).toEqual(['1@3']);
    expect(r.size).toBe(2);
    down = false;
    await r.flush();
    expect(calls).toEqual(['1@3', '1@3', '3@2']);
    expect(r.size).toBe(0);
  });

  it('leaves other failures to the broker, keeps only the newest `max`, and does nothing once stopped', async () => {
    const seen: string[] = [];
    const r = new Redrive({
      logger,
      max: 2,
      handle: async (_s, event) => {
        seen.push(event.id.slice(-1));
        throw new TransientError('being notified by another replica');
      },
    });
    for (const n of [1, 2, 3]) r.remember('job.failed.a', ev(n), 1, `c${n}`);
    expect(r.size).toBe(2);
    await r.flush();
    expect(seen).toEqual(['2', '3']);
    expect(r.size).toBe(0);
    await r.stop();
    r.remember('job.failed.a', ev(4), 1, 'c4');
    expect(r.size).toBe(0);
  });
});
