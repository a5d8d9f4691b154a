import { describe, expect, it } from 'vitest';
import {
  type BreakerIncident,
  describeBreakerClose,
  lateBreakerNotice,
  lateNoticeId,
  noteBreakerAlerted,
  noteBreakerClosed,
  noteBreakerOpened,
} from '../../src/breaker-incident.js';
import { recommendedActions } from '../../src/recommended-actions.js';
import { renderEmail } from '../../src/render-email.js';
import { SUBSCRIPTIONS } from '../../src/subscriptions.js';
import { toAlert } from '../../src/to-alert.js';

const T = Date.parse('2026-03-01T10:00:00Z');
const MIN = 60_000;
const ref = { service: 'webhooks', name: 'https://partner.example' };
const publicUrl = 'http://127.0.0.1:8080';

const opened = (cur: BreakerIncident | undefined, at: number) => noteBreakerOpened(cur, { ...ref, at }) ?? cur;
const alerted = (cur: BreakerIncident | undefined, at: number, id: string) =>
  noteBreakerAlerted(cur, { ...ref, at, id });
const closed = (cur: BreakerIncident | undefined, at: number, id: string) => noteBreakerClosed(cur, { id, at });

describe('breaker openings and their close (pure transitions)', () => {
  it('an opening an alert went out about: its first close sends the notice, later closes nothing', () => {
    let inc = opened(undefined, T);
    inc = alerted(inc, T, 'open-1').next;
    const c = closed(inc, T + 12 * MIN, 'close-1');
    expect(c.result.action).toBe('notice');
    expect(c.next).toMatchObject({ since: T, closed: { id: 'close-1', at: T + 12 * MIN }, notice: 'close-1' });
    // the redelivery of that close (its notice failed): sent again
    expect(closed(c.next, T + 12 * MIN, 'close-1').result.action).toBe('notice');
    // another close (another instance of the service, a re-publish): nothing
    expect(closed(c.next, T + 13 * MIN, 'close-2').result.action).toBe('already-closed');
  });

  it('a close with no opening known, or one no alert went out about, sends nothing', () => {
    expect(closed(undefined, T, 'c').result.action).toBe('unknown');
    const inc = opened(undefined, T);
    const c = closed(inc, T + MIN, 'c');
    expect(c.result.action).toBe('not-alerted');
    expect(c.next?.closed).toEqual({ id: 'c', at: T + MIN });
    expect(c.next?.notice).toBeUndefined();
  });

  it('flapping: openings while open move lastOpenedAt; a close older than the last opening does not end it', () => {
    let inc = opened(undefined, T);
    inc = alerted(inc, T, 'open-1').next;
    inc = opened(inc, T + 30_000);
    inc = opened(inc, T + 60_000);
    expect(inc).toMatchObject({ since: T, lastOpenedAt: T + 60_000, alerts: { count: 1 } });
    // a redelivered opening changes nothing
    expect(noteBreakerOpened(inc, { ...ref, at: T + 30_000 })).toBeUndefined();
    expect(closed(inc, T + 45_000, 'stale').result.action).toBe('reopened');
    const c = closed(inc, T + 90_000, 'close');
    expect(c.result.action).toBe('notice');
  });

  it('after the close, a later opening starts the next one; an earlier one belongs to the ended one', () => {
    let inc = alerted(opened(undefined, T), T, 'open-1').next;
    inc = closed(inc, T + MIN, 'close-1').next;
    expect(noteBreakerOpened(inc, { ...ref, at: T + 30_000 })).toBeUndefined();
    const next = noteBreakerOpened(inc, { ...ref, at: T + 2 * MIN });
    expect(next).toEqual({ ...ref, since: T + 2 * MIN, lastOpenedAt: T + 2 * MIN });
  });

  it('an alert that goes out after the close (its delivery was under way) sends the notice itself, once', () => {
    let inc = opened(undefined, T);
    inc = closed(inc, T + 5 * MIN, 'close-1').next;
    const a = alerted(inc, T, 'open-1');
    expect(a.result.action).toBe('late-notice');
    expect(a.next?.notice).toBe(lateNoticeId('close-1'));
    // another alert (a follow-up) after that: nothing more
    expect(alerted(a.next, T + MIN, 'fu-1').result.action).toBe('none');
  });

  it('the same alert noted twice counts once; a record lost (KV write failed) is opened by the alert', () => {
    let inc = alerted(opened(undefined, T), T, 'open-1').next;
    expect(alerted(inc, T, 'open-1').next).toBeUndefined();
    inc = alerted(inc, T + MIN, 'fu-1').next;
    expect(inc?.alerts).toEqual({ count: 2, firstAt: T, firstId: 'open-1', lastId: 'fu-1' });
    expect(alerted(undefined, T, 'open-1').next).toMatchObject({ since: T, alerts: { count: 1 } });
  });
});

describe('the closed notice', () => {
  const closeEvent = {
    id: '01JCLOSE',
    time: new Date(T + 12 * MIN + 5_000).toISOString(),
    data: { ...ref, state: 'closed', at: new Date(T + 12 * MIN).toISOString(), failures: 0 },
  };

  it('breaker.closed is an INFO resolved alert on the opened alert scope', () => {
    const a = toAlert('breaker.closed.webhooks.https___partner_example', closeEvent)!;
    const o = toAlert('breaker.opened.webhooks.https___partner_example', { ...closeEvent, id: 'o' })!;
    expect(a).toMatchObject({ kind: 'breaker-closed', severity: 'INFO', resolved: true, breaker: ref });
    expect(a.scope).toBe(o.scope);
    expect(a.scope).toBe('breaker:webhooks.https://partner.example');
    expect(toAlert('breaker.half-open.webhooks.x', closeEvent)).toBeUndefined();
  });

  it('names the breaker and how long it was open; says what to do', () => {
    const inc = closed(alerted(opened(undefined, T), T, 'o').next, T + 12 * MIN + 5_000, closeEvent.id).next!;
    const alert = describeBreakerClose(toAlert('breaker.closed.webhooks.x', closeEvent)!, inc);
    const mail = renderEmail(alert, { publicUrl });
    expect(mail.subject).toBe(
      '✅ RESOLVED: circuit breaker webhooks/https://partner.example closed again (open for 12 min)',
    );
    expect(mail.text).toMatch(/Open for:\s+12 min 5 s/);
    expect(mail.text).toMatch(/Opened at:\s+2026-03-01 10:00:00 UTC/);
    expect(mail.text).not.toContain('vigil trigger');
    expect(recommendedActions(alert).join(' ')).toContain('vigil dlq list');
    // the late notice is the same email
    const late = lateBreakerNotice({ ...inc, notice: lateNoticeId(closeEvent.id) });
    expect(renderEmail(late, { publicUrl }).subject).toBe(mail.subject);
    expect(late.eventId).toBe(`breaker-closed-${closeEvent.id}`);
  });

  it('the opened alert says a RESOLVED email follows; breaker.closed.> has its own durable', () => {
    const o = toAlert('breaker.opened.reports.provider-api', { id: 'o', data: { service: 'reports', name: 'p' } })!;
    expect(recommendedActions(o).join(' ')).toContain('✅ RESOLVED email follows');
    expect(SUBSCRIPTIONS).toContainEqual({ family: 'breaker-closed', subject: 'breaker.closed.>' });
  });
});
