import { describe, expect, it } from 'vitest';
import { notifierEnvSchema } from '../../src/config.js';
import { recommendedActions } from '../../src/recommended-actions.js';
import { renderEmail } from '../../src/render-email.js';
import { watchdogInterval } from '../../src/watchdog.js';
import { formatDuration } from '../../src/render-email.js';
import { roughDuration, serviceBackAlert, serviceDownAlert } from '../../src/watchdog-alerts.js';
import {
  markDownSent,
  markUpSent,
  type Observation,
  observe,
  type WatchRecord,
  type WatchSettings,
} from '../../src/watchdog-state.js';

const S: WatchSettings = { downAfterMs: 120_000, gapMs: 120_000, refreshMs: 15_000 };
const T = Date.parse('2026-03-01T10:00:00Z');
const alive = (at: number, instances = 1): Observation => ({ service: 'scheduler', alive: true, instances, at });
const silent = (at: number): Observation => ({ service: 'scheduler', alive: false, instances: 0, at });

/** Feeds observations every 30 s from `from`, returning the record and the changes. */
function run(rec: WatchRecord | undefined, obs: Observation[]) {
  const changes: Array<string | undefined> = [];
  let r = rec;
  for (const o of obs) {
    const step = observe(r, o, S);
    changes.push(step.change);
    r = step.next ?? r;
  }
  return { rec: r, changes };
}

const every30s = (from: number, n: number, f: (at: number) => Observation) =>
  Array.from({ length: n }, (_, i) => f(from + i * 30_000));

describe('watchdog record transitions', () => {
  it('a service never seen answering is not expected: no record, however long it is silent', () => {
    expect(run(undefined, every30s(T, 20, silent))).toEqual({ rec: undefined, changes: Array(20).fill(undefined) });
  });

  it('first answer → record; silence counted from the first unanswered round; down exactly at the threshold', () => {
    const { rec, changes } = run(undefined, [alive(T, 2), ...every30s(T + 30_000, 5, silent)]);
    expect(changes).toEqual(['first-seen', 'silent', undefined, undefined, undefined, 'down']);
    expect(rec).toMatchObject({
      service: 'scheduler',
      firstSeenAt: T,
      seenAt: T,
      instances: 2,
      silentSince: T + 30_000,
      down: { id: `watchdog-down-scheduler-${T + 30_000}`, since: T + 30_000, at: T + 150_000, sent: false },
    });
    // later rounds of the same outage change nothing but checkedAt
    const later = run(rec, every30s(T + 180_000, 3, silent));
    expect(later.changes).toEqual([undefined, undefined, undefined]);
    expect(later.rec?.down).toEqual(rec?.down);
  });

  it('a silence shorter than the threshold ends without an alert', () => {
    const { rec, changes } = run(undefined, [alive(T), silent(T + 30_000), silent(T + 60_000), alive(T + 90_000)]);
    expect(changes).toEqual(['first-seen', 'silent', undefined, 'answers-again']);
    expect(rec?.silentSince).toBeUndefined();
    expect(rec?.down).toBeUndefined();
  });

  it('back after an outage → one resolved notice pending; marking it sent clears it', () => {
    const outage = run(undefined, [alive(T), ...every30s(T + 30_000, 5, silent)]).rec as WatchRecord;
    const sent = markDownSent(outage, outage.down?.id as string) as WatchRecord;
    expect(sent.down?.sent).toBe(true);
    expect(markDownSent(sent, outage.down?.id as string)).toBeUndefined(); // already marked: no write
    const back = observe(sent, alive(T + 300_000, 3), S);
    expect(back.change).toBe('back');
    expect(back.next?.down).toBeUndefined();
    expect(back.next?.up).toEqual({
      id: `watchdog-up-scheduler-${T + 30_000}`,
      since: T + 30_000,
      at: T + 300_000,
      lastSeenAt: T,
      downAlertSent: true,
    });
    expect(markUpSent(back.next, 'another-id')).toBeUndefined();
    expect(markUpSent(back.next, back.next?.up?.id as string)?.up).toBeUndefined();
  });

  it('after a gap (every notifier was down, e.g. the whole deployment restarted) the silence starts again', () => {
    const seen = run(undefined, [alive(T), silent(T + 30_000)]).rec as WatchRecord;
    const weekLater = T + 7 * 86_400_000;
    // the scheduler is still starting when the notifier's first round comes: not down at once
    const { changes, rec } = run(seen, [silent(weekLater), silent(weekLater + 30_000), alive(weekLater + 60_000)]);
    expect(changes).toEqual([undefined, undefined, 'answers-again']);
    expect(rec?.down).toBeUndefined();
    // but a service that stays silent is reported a threshold after the watching resumed
    const stays = run(seen, every30s(weekLater, 5, silent));
    expect(stays.changes.at(-1)).toBe('down');
    expect(stays.rec?.down?.since).toBe(weekLater);
  });

  it('a restart of the notifiers shorter than the gap keeps counting the silence', () => {
    const seen = run(undefined, [alive(T), silent(T + 30_000)]).rec as WatchRecord;
    const { changes } = run(seen, [silent(T + 120_000), silent(T + 150_000)]);
    expect(changes).toEqual([undefined, 'down']);
  });

  it('an answering service is rewritten at most every refreshMs while nothing changes', () => {
    const { rec } = run(undefined, [alive(T)]);
    expect(observe(rec, alive(T + 10_000), S).next).toBeUndefined();
    expect(observe(rec, alive(T + 10_000, 2), S).next?.instances).toBe(2);
    expect(observe(rec, alive(T + 15_000), S).next?.checkedAt).toBe(T + 15_000);
  });
});

describe('watchdog alerts', () => {
  const rec = run(undefined, [alive(T, 2), ...every30s(T + 30_000, 5, silent)]).rec as WatchRecord;

  it('headline, severity and actions of the down alert, per service', () => {
    const a = serviceDownAlert(rec, { downAfterMs: 120_000, intervalMs: 30_000 }, T + 150_000);
    expect(a).toMatchObject({
      kind: 'service-down',
      severity: 'CRITICAL',
      resolved: false,
      scope: 'service:scheduler',
    });
    expect(renderEmail(a, { publicUrl: 'http://x' }).subject).toBe(
      '🚨 CRITICAL: scheduler is down: no instance has answered for 2 min',
    );
    const actions = recommendedActions(a).join('\n');
    expect(actions).toContain('scheduled jobs are not being requested');
    expect(actions).toContain('catch-up runs missed slots');
    expect(actions).toContain('nats req vigil.health.scheduler');
    expect(actions).toContain('nats kv del vigil_notified watchdog_scheduler');
    // a retried alert says how long it has been by then
    expect(serviceDownAlert(rec, { downAfterMs: 120_000, intervalMs: 30_000 }, T + 3_630_000).headline).toBe(
      'scheduler is down: no instance has answered for 60 min',
    );
    for (const [service, text] of [
      ['reports', 'requested runs wait in the work queue'],
      ['secrets', '`secrets.get` is not answered'],
      ['webhooks', 'VIGIL_WEBHOOKS'],
    ]) {
      const other = serviceDownAlert({ ...rec, service }, { downAfterMs: 120_000, intervalMs: 30_000 }, T);
      const list = recommendedActions(other);
      expect(list.join('\n')).toContain(text);
      expect(list.join('\n')).toContain('`vigil health`');
    }
  });

  it('the resolved notice', () => {
    const back = observe(rec, alive(T + 300_000), S).next as WatchRecord;
    const a = serviceBackAlert(back);
    expect(a).toMatchObject({ kind: 'service-recovered', severity: 'INFO', resolved: true });
    expect(renderEmail(a, { publicUrl: 'http://x' }).subject).toBe(
      '✅ RESOLVED: scheduler is back: an instance answers again (down 4 min)',
    );
    expect(a.facts).toContainEqual(['Down alert', 'not delivered (every channel failed while it was down)']);
    expect(recommendedActions(a)[0]).toMatch(/^Nothing to do for scheduler itself/);
  });

  it('durations', () => {
    expect([45_000, 120_000, 270_000, 7_200_000, 7_500_000].map(roughDuration)).toEqual([
      '45 s',
      '2 min',
      '4 min',
      '2 h',
      '2 h 5 min',
    ]);
    // seconds round as the facts' formatDuration rounds them: a headline's "35 s" is not a body's "36 s"
    expect(roughDuration(35_600)).toBe('36 s');
    expect(roughDuration(35_600)).toBe(formatDuration(35_600));
    expect([10_000, 120_000, 600_000, 86_400_000].map(watchdogInterval)).toEqual([2_500, 30_000, 30_000, 30_000]);
  });
});

describe('WATCHDOG_DOWN_AFTER', () => {
  const parse = (v?: string) => notifierEnvSchema.safeParse(v === undefined ? {} : { WATCHDOG_DOWN_AFTER: v });

  it('defaults to 2 min; 0 and off turn the watchdog off; durations as elsewhere', () => {
    expect(parse().data?.WATCHDOG_DOWN_AFTER).toBe(120_000);
    for (const off of ['0', 'off', 'OFF', ' off ']) expect(parse(off).data?.WATCHDOG_DOWN_AFTER, off).toBe(0);
    expect(parse('5m').data?.WATCHDOG_DOWN_AFTER).toBe(300_000);
    expect(parse('90s').data?.WATCHDOG_DOWN_AFTER).toBe(90_000);
  });

  it('rejects what is not a duration, and thresholds too short to mean down or too long to matter', () => {
    for (const bad of ['soon', '5s', '500ms', '2d', '-1m']) {
      const r = parse(bad);
      expect(r.success, bad).toBe(false);
      expect(r.error?.issues[0].path).toEqual(['WATCHDOG_DOWN_AFTER']);
    }
  });
});
