import { describe, expect, it } from 'vitest';
import {
  confirmDigest,
  type DigestLine,
  digestAlert,
  digestDueAt,
  type ExpiredDigestState,
  foldExpired,
  MAX_DIGEST_LINES,
  restoreDigest,
  roundDuration,
  takeDigest,
} from '../../src/expired-digest.js';
import { renderEmail } from '../../src/render-email.js';
import { renderSlack } from '../../src/slack-message.js';
import { toAlert } from '../../src/to-alert.js';
import { digestLineOf } from '../../src/expired-digest.js';
import { failedEvent } from './fixtures.js';

const T = { quietMs: 10_000, maxWaitMs: 300_000 };
const DAY = 86_400_000;
const t0 = Date.parse('2026-11-27T08:00:00.000Z');

const line = (i: number, over: Partial<DigestLine> = {}): DigestLine => ({
  eventId: `E${String(i).padStart(4, '0')}`,
  at: Date.parse('2026-11-24T02:00:00.000Z') + i * 60_000,
  severity: 'WARNING',
  headline: `job-${i} partially failed (1/2 targets)`,
  job: `job-${i}`,
  runId: `01RUN${i}`,
  ...over,
});

function foldAll(lines: DigestLine[], start: number, state?: ExpiredDigestState): ExpiredDigestState {
  let s = state;
  lines.forEach((l, i) => {
    s = foldExpired(s, [l], start + i * 10, T).next ?? s;
  });
  return s as ExpiredDigestState;
}

describe('digest of alerts older than ALERT_MAX_AGE', () => {
  it('is due once no old alert came for the quiet time, at most maxWait after the first', () => {
    let s = foldExpired(undefined, [line(1)], t0, T).next;
    expect(s?.dueAt).toBe(t0 + 10_000);
    s = foldExpired(s, [line(2)], t0 + 5_000, T).next;
    expect(s?.dueAt).toBe(t0 + 15_000);
    expect(takeDigest(s as ExpiredDigestState, t0 + 14_999)).toBeUndefined();
    expect(digestDueAt(s)).toBe(t0 + 15_000);
    // a backlog that keeps trickling in: sent maxWait after the first fold anyway
    s = foldExpired(s, [line(3)], t0 + 295_000, T).next;
    expect(s?.dueAt).toBe(t0 + 300_000);
    const taken = takeDigest(s as ExpiredDigestState, t0 + 300_000);
    expect(taken?.batch.count).toBe(3);
    expect(taken?.next.pending).toBeUndefined();
    expect(confirmDigest(taken?.next as ExpiredDigestState)).toEqual({});
  });

  it('counts a redelivered alert once', () => {
    const s = foldExpired(undefined, [line(1)], t0, T).next;
    const again = foldExpired(s, [line(1), line(2)], t0 + 1, T);
    expect(again.duplicates).toEqual(['E0001']);
    expect(again.next?.pending?.count).toBe(2);
    expect(foldExpired(again.next, [line(2)], t0 + 2, T).next).toBeUndefined();
  });

  it('lists at most 50, the most severe kept, in the order they happened, and counts the rest', () => {
    const lines = Array.from({ length: 70 }, (_, i) => line(i, i % 10 === 9 ? { severity: 'CRITICAL' } : {}));
    const s = foldAll(lines, t0);
    expect(s.pending?.count).toBe(70);
    expect(s.pending?.lines).toHaveLength(MAX_DIGEST_LINES);
    expect(s.pending?.lines.filter((l) => l.severity === 'CRITICAL')).toHaveLength(7);
    const taken = takeDigest(s, t0 + DAY) as NonNullable<ReturnType<typeof takeDigest>>;
    const alert = digestAlert(taken, DAY, t0 + DAY);
    expect(alert.severity).toBe('CRITICAL');
    expect(alert.headline).toBe('70 alerts older than 24 h were not sent one by one while the notifier was away');
    const body = alert.body ?? '';
    const listed = body.split('\n').filter((l) => / · (CRITICAL|WARNING) · /.test(l));
    expect(listed).toHaveLength(50);
    expect(listed[0]).toBe('2026-11-24 02:00:00 UTC · WARNING · job-0 partially failed (1/2 targets) · run 01RUN0');
    const times = listed.map((l) => l.slice(0, 23));
    expect([...times].sort()).toEqual(times);
    expect(body).toContain('… and 20 more (20 WARNING): not listed here');
    expect(alert.facts).toContainEqual(['Alerts', '70 (7 CRITICAL, 63 WARNING)']);

    const mail = renderEmail(alert, { publicUrl: 'http://vigil.example.com' });
    expect(mail.subject).toBe(
      '🚨 CRITICAL: 70 alerts older than 24 h were not sent one by one while the notifier was away',
    );
    expect(mail.text).toContain('vigil runs --status failed');
    expect(mail.html).toContain('job-69 partially failed');
    expect(renderSlack(alert, { publicUrl: 'http://vigil.example.com' }).text).toContain('70 alerts older than 24 h');
  });

  it('has the severity of the most severe folded alert; one alert reads in the singular', () => {
    const s = foldAll([line(1, { severity: 'INFO', resolved: true, headline: 'job-1 recovered' })], t0);
    const alert = digestAlert(takeDigest(s, t0 + DAY) as NonNullable<ReturnType<typeof takeDigest>>, 3_600_000, t0);
    expect(alert.severity).toBe('INFO');
    expect(alert.resolved).toBe(false);
    expect(alert.headline).toBe('1 alert older than 1 h was not sent one by one while the notifier was away');
    expect(alert.body).toContain(' · RESOLVED · job-1 recovered · run 01RUN1');
  });

  it('one claim at a time; a claim whose sender died is due again after its lease, with what was folded meanwhile', () => {
    const s = foldAll([line(1), line(2)], t0);
    const taken = takeDigest(s, t0 + 20_000, 120_000) as NonNullable<ReturnType<typeof takeDigest>>;
    expect(taken.batch.count).toBe(2);
    // another replica, while the first sends: nothing to take, look again when the lease ends
    expect(takeDigest(taken.next, t0 + 21_000, 120_000)).toBeUndefined();
    const more = foldExpired(taken.next, [line(3)], t0 + 30_000, T).next as ExpiredDigestState;
    expect(takeDigest(more, t0 + 40_000, 120_000)).toBeUndefined();
    expect(digestDueAt(more)).toBe(t0 + 140_000);
    // confirmed: the alert folded meanwhile is due on its own
    const confirmed = confirmDigest(more, taken.claim);
    expect(digestDueAt(confirmed)).toBe(t0 + 40_000);
    expect(takeDigest(confirmed, t0 + 40_000)?.batch.count).toBe(1);
    // never confirmed (the sender died): taken over after its lease with everything in it
    const orphan = takeDigest(more, t0 + 140_000, 120_000) as NonNullable<ReturnType<typeof takeDigest>>;
    expect(orphan.batch.count).toBe(3);
    expect(orphan.batch.lines.map((l) => l.eventId).sort()).toEqual(['E0001', 'E0002', 'E0003']);
    // the first sender, late, neither confirms nor puts back the claim that is no longer its own
    expect(confirmDigest(orphan.next, taken.claim)).toBe(orphan.next);
    expect(restoreDigest(orphan.next, taken, t0 + 200_000)).toBeUndefined();
  });

  it('a digest that could not be sent goes back, merged with later folds', () => {
    const s = foldAll([line(1)], t0);
    const taken = takeDigest(s, t0 + 20_000) as NonNullable<ReturnType<typeof takeDigest>>;
    const meanwhile = foldExpired(taken.next, [line(2)], t0 + 21_000, T).next as ExpiredDigestState;
    const back = restoreDigest(meanwhile, taken, t0 + 50_000) as ExpiredDigestState;
    expect(back.sending).toBeUndefined();
    expect(back.pending?.count).toBe(2);
    expect(back.dueAt).toBe(t0 + 31_000);
    expect(restoreDigest(undefined, taken, t0 + 50_000)?.dueAt).toBe(t0 + 50_000);
  });

  it('keeps time, severity, headline, job and run of an alert', () => {
    const alert = toAlert('job.failed.daily-reports', failedEvent());
    expect(alert).toBeDefined();
    expect(digestLineOf(alert as NonNullable<typeof alert>)).toEqual({
      eventId: '01JFAILED000000000000000001',
      at: Date.parse('2026-11-24T02:00:05.000Z'),
      severity: 'CRITICAL',
      headline: 'daily-reports failed',
      job: 'daily-reports',
      runId: '01RUN00000000000000000000A',
    });
    expect(roundDuration(DAY)).toBe('24 h');
    expect(roundDuration(3 * DAY)).toBe('3 d');
    expect(roundDuration(90 * 60_000)).toBe('90 min');
  });
});
