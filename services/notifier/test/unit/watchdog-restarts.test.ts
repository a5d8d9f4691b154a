import { describe, expect, it } from 'vitest';
import { recommendedActions } from '../../src/recommended-actions.js';
import { renderEmail } from '../../src/render-email.js';
import { serviceRestartingAlert, serviceStableAlert } from '../../src/watchdog-restart-alerts.js';
import { markRestartingSent, markStableSent, observeRestarts } from '../../src/watchdog-restarts.js';
import {
  type Observation,
  observeRound,
  type RoundStep,
  type WatchRecord,
  type WatchSettings,
} from '../../src/watchdog-state.js';

// rounds every 30 s: an instance is gone after 60 s without answering (two rounds)
const S: WatchSettings = { downAfterMs: 120_000, gapMs: 120_000, refreshMs: 15_000, goneAfterMs: 60_000 };
const T = Date.parse('2026-03-01T10:00:00Z');
const MIN = 60_000;

const obs = (at: number, ids: string[]): Observation => ({
  service: 'webhooks',
  alive: ids.length > 0,
  instances: ids.length,
  at,
  ids,
  readiness: { readyInstances: ids.length },
});

/** Rounds every 30 s from `from`; `idsAt(i)` says which instances answer in round i. */
function rounds(rec: WatchRecord | undefined, from: number, n: number, idsAt: (i: number) => string[]) {
  const steps: RoundStep[] = [];
  let r = rec;
  for (let i = 0; i < n; i++) {
    const step = observeRound(r, obs(from + i * 30_000, idsAt(i)), S);
    steps.push(step);
    r = step.next ?? r;
  }
  return { rec: r as WatchRecord, restarts: steps.map((s) => s.restarts), steps };
}

/** Two long-lived instances, watched for an hour. */
const settled = () => rounds(undefined, T - 60 * MIN, 120, () => ['w-a', 'w-b']).rec;

describe('restarts: what counts', () => {
  it('a crash loop: instances that answer once and go away, each replaced by a new one → one warning', () => {
    const start = settled();
    // w-b stays; the second instance is replaced every round (a new id each start)
    const loop = rounds(start, T, 6, (i) => ['w-b', `w-crash-${i}`]);
    expect(loop.restarts).toEqual([
      undefined, // w-a went away, but it lived an hour: not short-lived (and not counted)
      undefined,
      'short-lived-gone', // w-crash-0: last seen 60 s ago
      'short-lived-gone',
      'restarting', // w-crash-2: the third within 15 min
      'short-lived-gone', // counted in the open warning
    ]);
    const r = loop.rec.restarting;
    expect(r).toMatchObject({
      id: `watchdog-restarting-webhooks-${T}`,
      since: T,
      at: T + 120_000,
      count: 4,
      lastAt: T + 90_000,
      sent: false,
    });
    expect(r?.recent.map((g) => g.id)).toEqual(['w-crash-0', 'w-crash-1', 'w-crash-2', 'w-crash-3']);
    const sent = markRestartingSent(loop.rec, r?.id as string) as WatchRecord;
    expect(sent.restarting?.sent).toBe(true);
    expect(markRestartingSent(sent, r?.id as string)).toBeUndefined();
  });

  it('a rolling deploy (long-lived instances replaced by new ones that stay) does not count', () => {
    const start = settled();
    // surge: w-c comes, w-a goes, w-d comes, w-b goes; then the new ones stay
    const deploy = rounds(start, T, 40, (i) =>
      i < 2 ? ['w-a', 'w-b', 'w-c'] : i < 4 ? ['w-b', 'w-c', 'w-d'] : ['w-c', 'w-d'],
    );
    expect(deploy.restarts.filter(Boolean)).toEqual([]);
    expect(deploy.rec.gone).toBeUndefined();
    expect(deploy.rec.tracked?.map((t) => t.id)).toEqual(['w-c', 'w-d']);
  });

  it('a scale-up does not count, nor a scale-down of instances that ran long', () => {
    const start = settled();
    const up = rounds(start, T, 20, () => ['w-a', 'w-b', 'w-c', 'w-d', 'w-e']);
    expect(up.restarts.filter(Boolean)).toEqual([]);
    const down = rounds(up.rec, T + 10 * MIN, 10, () => ['w-a', 'w-b']);
    expect(down.restarts.filter(Boolean)).toEqual([]);
  });

  it('but three deploys within minutes do (their instances were short-lived)', () => {
    const start = settled();
    const deploys = rounds(start, T, 12, (i) => [`w-v${Math.floor(i / 3)}-1`, `w-v${Math.floor(i / 3)}-2`]);
    expect(deploys.restarts).toContain('restarting');
  });

  it('instances already running when the watching began have an unknown lifetime: never counted', () => {
    // a deploy one minute after the record was created (or after a record of the previous version was read)
    const fresh = rounds(undefined, T, 10, (i) => (i < 2 ? ['w-1', 'w-2', 'w-3'] : ['w-4', 'w-5', 'w-6']));
    expect(fresh.restarts.filter(Boolean)).toEqual([]);
    const old: WatchRecord = { service: 'webhooks', firstSeenAt: T, seenAt: T, instances: 3, checkedAt: T };
    const upgraded = rounds(old, T + 30_000, 10, (i) => (i < 2 ? ['w-1', 'w-2', 'w-3'] : ['w-4', 'w-5', 'w-6']));
    expect(upgraded.restarts.filter(Boolean)).toEqual([]);
    expect(upgraded.rec.tracked?.map((t) => t.id)).toEqual(['w-4', 'w-5', 'w-6']);
  });

  it('after a gap (every notifier was down) instances gone meanwhile are not counted', () => {
    const loop = rounds(settled(), T, 2, (i) => ['w-b', `w-crash-${i}`]).rec;
    const later = rounds(loop, T + 30 * MIN, 6, (i) => ['w-b', `w-new-${i}`]);
    // w-crash-0/1 were dropped uncounted; the new crash loop counts from there
    expect(later.steps[0].goneNow).toBeUndefined();
    expect(later.restarts.slice(0, 2)).toEqual([undefined, undefined]);
  });

  it('one missed answer is no instance gone; one counted gone that answers again is taken back', () => {
    const start = settled();
    const missed = rounds(start, T, 4, (i) => (i === 1 ? ['w-a'] : ['w-a', 'w-b']));
    expect(missed.restarts.filter(Boolean)).toEqual([]);
    // a young instance silent for two rounds (slow to answer), then answering again
    const young = rounds(missed.rec, T + 2 * MIN, 6, (i) =>
      i === 2 || i === 3 ? ['w-a', 'w-b'] : ['w-a', 'w-b', 'w-y'],
    );
    expect(young.rec.gone).toBeUndefined();
    expect(young.rec.tracked?.find((t) => t.id === 'w-y')?.first).toBe(T + 2 * MIN);
  });

  it('the record stays small: tracked, gone and listed instances are bounded', () => {
    const many = Array.from({ length: 50 }, (_, i) => `w-${i}`);
    const crowded = rounds(settled(), T, 2, () => many);
    expect(crowded.rec.tracked?.length).toBeLessThanOrEqual(32);
    const loop = rounds(settled(), T, 40, (i) => ['w-b', `w-crash-${i}`]);
    expect(loop.rec.gone?.length).toBeLessThanOrEqual(10);
    expect(loop.rec.restarting?.recent.length).toBe(10);
    expect(loop.rec.restarting?.count).toBe(38);
    expect(JSON.stringify(loop.rec).length).toBeLessThan(3_000);
  });

  it('ids unknown (an answer without them): nothing changes', () => {
    const start = settled();
    expect(observeRestarts(start, { service: 'webhooks', at: T, fresh: false }, 60_000)).toMatchObject({
      dirty: false,
      goneNow: [],
    });
  });
});

describe('restarts: resolution', () => {
  const loop = rounds(settled(), T, 6, (i) => ['w-b', `w-crash-${i}`]);

  it('stable after 15 min without a short-lived instance gone, while an instance keeps answering → one notice', () => {
    // the loop stops: w-crash-5 stays
    const calm = rounds(loop.rec, T + 3 * MIN, 40, () => ['w-b', 'w-crash-5']);
    const at = calm.restarts.indexOf('stable');
    // w-crash-4 (last answer at T+2 min) is found gone first; 15 min after that last answer: stable
    expect(calm.restarts.filter(Boolean)).toEqual(['short-lived-gone', 'stable']);
    expect(T + 3 * MIN + at * 30_000).toBe(T + 2 * MIN + 15 * MIN);
    expect(calm.rec.restarting).toBeUndefined();
    expect(calm.rec.stable).toEqual({
      id: `watchdog-stable-webhooks-${T}`,
      since: T,
      at: T + 2 * MIN + 15 * MIN,
      count: 5,
      lastAt: T + 2 * MIN,
      warningSent: false,
    });
    expect(markStableSent(calm.rec, 'other')).toBeUndefined();
    expect(markStableSent(calm.rec, calm.rec.stable?.id as string)?.stable).toBeUndefined();
  });

  it('not stable while nothing answers, nor while only young instances answer', () => {
    const silent = rounds(loop.rec, T + 3 * MIN, 60, () => []);
    expect(silent.restarts).not.toContain('stable');
    expect(silent.rec.restarting).toBeDefined();
    const young = rounds(silent.rec, T + 33 * MIN, 8, () => ['w-new']);
    expect(young.restarts.filter(Boolean)).toEqual([]);
    const older = rounds(young.rec, T + 37 * MIN, 4, () => ['w-new']);
    expect(older.restarts.filter(Boolean)).toEqual(['stable']);
  });
});

describe('restarts: the warning and the notice', () => {
  const loop = rounds(settled(), T, 5, (i) => ['w-b', `w-crash-${i}`]);

  it('WARNING: how many, in what window, which instances, what to do', () => {
    const a = serviceRestartingAlert(loop.rec, { intervalMs: 30_000 });
    expect(a).toMatchObject({ severity: 'WARNING', resolved: false, scope: 'service:webhooks', service: 'webhooks' });
    const mail = renderEmail(a, { publicUrl: 'http://x' });
    expect(mail.subject).toBe(
      '⚠️ WARNING: webhooks keeps restarting: 3 instances went away soon after starting, within 60 s',
    );
    for (const body of [mail.text, mail.html]) {
      expect(body).toContain('w-crash-0 (answered once, at 10:00:00 UTC), w-crash-1');
      expect(body).toContain('kubectl logs deploy/vigil-webhooks --previous');
      expect(body).toContain('docker compose logs --tail 200 webhooks');
      expect(body).toContain('Exit code 78');
      expect(body).toContain('3 such instances within 15 min');
    }
    expect(recommendedActions(a)[0]).toMatch(/^Read why they exit/);
  });

  it('RESOLVED once stable', () => {
    const calm = rounds(loop.rec, T + 150_000, 40, () => ['w-b', 'w-crash-4']).rec;
    const a = serviceStableAlert(calm);
    expect(a).toMatchObject({ severity: 'INFO', resolved: true });
    expect(renderEmail(a, { publicUrl: 'http://x' }).subject).toBe(
      '✅ RESOLVED: webhooks is stable again: no restart for 15 min (4 restarts seen)',
    );
    expect(a.facts).toContainEqual(['Restart warning', 'not delivered (every channel failed meanwhile)']);
  });
});
