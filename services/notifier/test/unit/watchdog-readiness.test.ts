import type { ServiceReadiness } from '@vigil/shared';
import { describe, expect, it } from 'vitest';
import { recommendedActions } from '../../src/recommended-actions.js';
import { renderEmail } from '../../src/render-email.js';
import { serviceBackAlert, serviceDownAlert } from '../../src/watchdog-alerts.js';
import { markNotReadySent, markReadyAgainSent, readinessSeen } from '../../src/watchdog-readiness.js';
import { serviceNotReadyAlert, serviceReadyAgainAlert } from '../../src/watchdog-readiness-alerts.js';
import {
  markDownSent,
  type Observation,
  observeRound,
  type WatchRecord,
  type WatchSettings,
} from '../../src/watchdog-state.js';

const S: WatchSettings = { downAfterMs: 120_000, gapMs: 120_000, refreshMs: 15_000, goneAfterMs: 60_000 };
const T = Date.parse('2026-03-01T10:00:00Z');
const TIMING = { downAfterMs: 120_000, intervalMs: 30_000 };
const REDIS_DOWN = { check: 'redis', error: 'connect ECONNREFUSED 10.0.0.9:6379' };

/** A readiness answer of `ids`, the first `notReady` of them not ready with `failing` checks (phase `phase`). */
function answer(ids: string[], notReady: number, failing = [REDIS_DOWN], phase = 'running'): ServiceReadiness {
  return {
    service: 'reports',
    ready: notReady === 0,
    instances: ids.length,
    instanceStarts: ids.map((id) => ({ id })),
    notReady: ids.slice(0, notReady).map((instance) => ({ instance, phase, failing })),
  };
}

const obs = (at: number, r: ServiceReadiness): Observation => ({
  service: 'reports',
  alive: r.instances > 0,
  instances: r.instances,
  at,
  ids: (r.instanceStarts ?? []).map((i) => i.id),
  readiness: readinessSeen(r),
});
const none = (at: number) => obs(at, answer([], 0));
const broken = (at: number, ids = ['r-1']) => obs(at, answer(ids, ids.length));
const fine = (at: number, ids = ['r-1']) => obs(at, answer(ids, 0));

function run(rec: WatchRecord | undefined, list: Observation[]) {
  const changes: Array<string | undefined> = [];
  const readiness: Array<string | undefined> = [];
  let r = rec;
  for (const o of list) {
    const step = observeRound(r, o, S);
    changes.push(step.change);
    readiness.push(step.readiness);
    r = step.next ?? r;
  }
  return { rec: r, changes, readiness };
}

const every30s = (from: number, n: number, f: (at: number) => Observation) =>
  Array.from({ length: n }, (_, i) => f(from + i * 30_000));

describe('readiness of one round (serviceReadiness → what the watchdog keeps)', () => {
  it('ready instances counted; failing checks with their errors, phases, and on which instances', () => {
    expect(readinessSeen(answer(['a', 'b'], 0))).toEqual({ readyInstances: 2 });
    expect(readinessSeen(answer(['a', 'b'], 1)).readyInstances).toBe(1);
    expect(readinessSeen(answer(['a', 'b'], 2))).toEqual({
      readyInstances: 0,
      what: 'redis failing',
      reason: 'redis: connect ECONNREFUSED 10.0.0.9:6379 (every instance)',
      checks: ['redis'],
      ids: ['a', 'b'],
    });
    expect(readinessSeen(answer(['a'], 1, [], 'starting'))).toMatchObject({
      what: 'start-up not finished',
      reason: 'start-up not finished (a)',
      checks: [],
    });
    // no answer, or an answer without the per-instance detail: nothing known, never alerted about
    expect(readinessSeen({ service: 'reports', ready: false, instances: 0 })).toEqual({});
    expect(readinessSeen({ service: 'reports', ready: false, instances: 2, error: '2 of 2 …' })).toEqual({});
  });

  it('bounded: a long error and many instances do not grow the record', () => {
    const ids = Array.from({ length: 40 }, (_, i) => `reports-${i}`);
    const seen = readinessSeen(answer(ids, 40, [{ check: 'redis', error: 'x'.repeat(5_000) }]));
    expect(seen.reason?.length).toBeLessThanOrEqual(600);
    expect(seen.ids).toHaveLength(5);
  });
});

describe('not ready: transitions', () => {
  it('no ready instance for the threshold → one alert; nothing more while it lasts; ready → one resolved notice', () => {
    const { rec, changes, readiness } = run(undefined, [fine(T), ...every30s(T + 30_000, 5, (at) => broken(at))]);
    expect(changes[0]).toBe('first-seen');
    expect(readiness).toEqual([undefined, 'not-ready', undefined, undefined, undefined, 'not-ready-alert']);
    expect(rec?.notReady).toMatchObject({
      since: T + 30_000,
      what: 'redis failing',
      instances: 1,
      alert: { id: `watchdog-notready-reports-${T + 30_000}`, at: T + 150_000, sent: false },
    });
    const sent = markNotReadySent(rec, rec?.notReady?.alert?.id as string) as WatchRecord;
    expect(sent.notReady?.alert?.sent).toBe(true);
    expect(markNotReadySent(sent, sent.notReady?.alert?.id as string)).toBeUndefined();

    const later = run(
      sent,
      every30s(T + 180_000, 10, (at) => broken(at)),
    );
    expect(later.readiness.every((c) => c === undefined)).toBe(true);
    expect(later.rec?.notReady?.alert).toEqual(sent.notReady?.alert);

    const again = observeRound(later.rec, fine(T + 600_000), S);
    expect(again.readiness).toBe('ready-again');
    expect(again.next?.notReady).toBeUndefined();
    expect(again.next?.readyAgain).toEqual({
      id: `watchdog-ready-reports-${T + 30_000}`,
      since: T + 30_000,
      at: T + 600_000,
      reason: 'redis: connect ECONNREFUSED 10.0.0.9:6379 (r-1)',
      alertSent: true,
    });
    expect(markReadyAgainSent(again.next, 'other')).toBeUndefined();
    expect(markReadyAgainSent(again.next, again.next?.readyAgain?.id as string)?.readyAgain).toBeUndefined();
  });

  it('some instances not ready while another is ready: the service works, no alert however long', () => {
    const two = ['r-1', 'r-2'];
    const { rec, readiness } = run(
      undefined,
      every30s(T, 30, (at) => obs(at, answer(two, 1))),
    );
    expect(readiness.every((c) => c === undefined)).toBe(true);
    expect(rec?.notReady).toBeUndefined();
  });

  it('not ready shorter than the threshold: no alert, no notice', () => {
    const { rec, readiness } = run(undefined, [fine(T), broken(T + 30_000), broken(T + 60_000), fine(T + 90_000)]);
    expect(readiness).toEqual([undefined, 'not-ready', undefined, 'ready']);
    expect(rec?.notReady).toBeUndefined();
    expect(rec?.readyAgain).toBeUndefined();
  });

  it('after a gap (nobody watching) the count starts again', () => {
    const seen = run(undefined, [fine(T), broken(T + 30_000)]).rec as WatchRecord;
    const later = T + 3_600_000;
    const { readiness, rec } = run(seen, [broken(later), broken(later + 30_000)]);
    expect(readiness).toEqual([undefined, undefined]);
    expect(rec?.notReady?.since).toBe(later);
  });

  it('not ready (alerted), then no answer at all: the same incident, no down alert; ready → one notice', () => {
    const alerted = run(undefined, [fine(T), ...every30s(T + 30_000, 5, (at) => broken(at))]).rec as WatchRecord;
    const silent = run(alerted, every30s(T + 180_000, 20, none));
    expect(silent.changes[0]).toBe('silent');
    expect(silent.changes).not.toContain('down');
    expect(silent.rec?.down).toBeUndefined();
    const back = observeRound(silent.rec, fine(T + 800_000), S);
    expect(back.change).toBe('answers-again');
    expect(back.readiness).toBe('ready-again');
    // answering again, still not ready: still the same episode, nothing new
    const stillBroken = observeRound(silent.rec, broken(T + 800_000), S);
    expect(stillBroken.readiness).toBeUndefined();
    expect(stillBroken.next?.notReady?.alert).toEqual(alerted.notReady?.alert);
  });

  it('not ready (not alerted yet), then silent for the threshold: the down alert takes it over and says so', () => {
    const { rec, changes, readiness } = run(undefined, [
      fine(T),
      broken(T + 30_000),
      broken(T + 60_000),
      ...every30s(T + 90_000, 5, none),
    ]);
    expect(changes.at(-1)).toBe('down');
    expect(readiness.at(-1)).toBe('not-ready-ended-by-down');
    expect(rec?.notReady).toBeUndefined();
    expect(rec?.down?.notReady).toEqual({
      since: T + 30_000,
      reason: 'redis: connect ECONNREFUSED 10.0.0.9:6379 (r-1)',
    });
    const down = serviceDownAlert(rec as WatchRecord, TIMING, T + 210_000);
    expect(down.facts).toContainEqual([
      'Before that',
      expect.stringContaining('no separate "not ready" alert') as unknown as string,
    ]);

    // back, but not ready: the back notice says so, and a not-ready episode starts from now
    const sent = markDownSent(rec, rec?.down?.id as string);
    const back = observeRound(sent, broken(T + 300_000, ['r-9']), S);
    expect(back.change).toBe('back');
    expect(back.readiness).toBe('not-ready');
    expect(back.next?.notReady?.since).toBe(T + 300_000);
    const notice = serviceBackAlert(back.next as WatchRecord, TIMING);
    expect(notice.facts).toContainEqual([
      'Ready',
      'not yet: redis: connect ECONNREFUSED 10.0.0.9:6379 (r-9). If no instance is ready for 2 min, a CRITICAL "reports is not ready" alert follows',
    ]);
  });

  it('a record written by the previous version (no readiness fields) is read and extended', () => {
    const old: WatchRecord = { service: 'reports', firstSeenAt: T, seenAt: T, instances: 1, checkedAt: T };
    const step = observeRound(old, broken(T + 30_000), S);
    expect(step.readiness).toBe('not-ready');
    expect(step.next).toMatchObject({ firstSeenAt: T, notReady: { since: T + 30_000 } });
  });
});

describe('not ready: the alert and the notice', () => {
  const rec = run(undefined, [fine(T), ...every30s(T + 30_000, 5, (at) => broken(at, ['reports-a', 'reports-b']))])
    .rec as WatchRecord;

  it('CRITICAL: what fails, on which instances, how long, and what to do', () => {
    const a = serviceNotReadyAlert(rec, TIMING, T + 150_000);
    expect(a).toMatchObject({ severity: 'CRITICAL', resolved: false, scope: 'service:reports', service: 'reports' });
    const mail = renderEmail(a, { publicUrl: 'http://x' });
    expect(mail.subject).toBe('🚨 CRITICAL: reports is not ready: redis failing on all 2 instances for 2 min');
    for (const body of [mail.text, mail.html]) {
      expect(body).toContain('redis: connect ECONNREFUSED 10.0.0.9:6379 (every instance)');
      expect(body).toContain('reports-a, reports-b');
      expect(body).toContain('/health/ready');
      expect(body).toContain('port 8081');
      expect(body).toContain('redis-cli ping');
      expect(body).toContain('docker compose logs --tail 200 reports-1 reports-2');
      expect(body).toContain('kubectl logs -l app.kubernetes.io/name=vigil-reports');
    }
    expect(mail.text).toContain('no separate "reports is down" alert is sent');
    // the actions by kind name the failing check, once each
    expect(recommendedActions(a).filter((x) => x.includes('redis-cli ping'))).toHaveLength(1);
    expect(serviceNotReadyAlert(rec, TIMING, T + 3_630_000).headline).toBe(
      'reports is not ready: redis failing on all 2 instances for 60 min',
    );
  });

  it('start-up not finished and an unknown check', () => {
    const starting = run(undefined, [
      fine(T),
      ...every30s(T + 30_000, 5, (at) =>
        obs(at, answer(['s-1'], 1, [{ check: 'quota', error: 'over quota' }], 'starting')),
      ),
    ]).rec as WatchRecord;
    const a = serviceNotReadyAlert(starting, TIMING, T + 150_000);
    expect(a.headline).toBe(
      'reports is not ready: quota failing, start-up not finished on its only instance for 2 min',
    );
    const actions = recommendedActions(a).join('\n');
    expect(actions).toContain('The `quota` check fails');
    expect(actions).toContain('Start-up has not finished');
  });

  it('RESOLVED when ready again', () => {
    const again = observeRound(rec, fine(T + 330_000), S).next as WatchRecord;
    const a = serviceReadyAgainAlert(again);
    expect(a).toMatchObject({ severity: 'INFO', resolved: true });
    expect(renderEmail(a, { publicUrl: 'http://x' }).subject).toBe(
      '✅ RESOLVED: reports is ready again (not ready for 5 min)',
    );
    expect(a.facts).toContainEqual(['Not-ready alert', 'not delivered (every channel failed meanwhile)']);
    expect(a.body).toMatch(/^Nothing to do for reports itself/);
  });
});
