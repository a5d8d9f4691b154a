import type { Logger } from '@vigil/shared';
import { describe, expect, it } from 'vitest';
import { recommendedActions } from '../../src/recommended-actions.js';
import { renderEmail } from '../../src/render-email.js';
import { serviceRestartingAlert, serviceStableAlert } from '../../src/watchdog-restart-alerts.js';
import { logRound } from '../../src/watchdog-log.js';
import {
  believedStart,
  CLOCK_SKEW_MS,
  markRestartingSent,
  markStableSent,
  observeRestarts,
} from '../../src/watchdog-restarts.js';
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

/** When an instance says it started (its answer's `startedAt`); undefined: it does not say (an older version). */
type Starts = (id: string) => number | undefined;

const obs = (at: number, ids: string[], startOf?: Starts): Observation => {
  const starts = new Map<string, number>();
  for (const id of ids) {
    const started = startOf?.(id);
    if (started !== undefined) starts.set(id, started);
  }
  return {
    service: 'webhooks',
    alive: ids.length > 0,
    instances: ids.length,
    at,
    ids,
    starts,
    readiness: { readyInstances: ids.length },
  };
};

/** Rounds every 30 s from `from`; `idsAt(i)` says which instances answer in round i, `startOf` when they started. */
function rounds(
  rec: WatchRecord | undefined,
  from: number,
  n: number,
  idsAt: (i: number) => string[],
  startOf?: Starts,
) {
  const steps: RoundStep[] = [];
  let r = rec;
  for (let i = 0; i < n; i++) {
    const step = observeRound(r, obs(from + i * 30_000, idsAt(i), startOf), S);
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

describe('restarts: timed from the start the instances report (startedAt)', () => {
  // a fresh record (e.g. the first rounds after `npm start`): w-1 was already running, then each instance is killed
  // after two rounds and its replacement started (5 s before the next round); w-4 stays
  const loopIds = (i: number) => [i < 2 ? 'w-1' : i < 4 ? 'w-2' : i < 6 ? 'w-3' : 'w-4'];
  const loopStarts: Starts = (id) => (id === 'w-1' ? T - 90_000 : T + (Number(id.slice(2)) - 1) * 60_000 - 5_000);

  it('an instance already running when the watching began counts when it started recently: warned after 3 kills', () => {
    const loop = rounds(undefined, T, 8, loopIds, loopStarts);
    expect(loop.steps[0].next?.tracked).toEqual([{ id: 'w-1', first: T, last: T, pre: true, started: T - 90_000 }]);
    expect(loop.restarts).toEqual([
      undefined,
      undefined,
      undefined,
      'short-lived-gone', // w-1: ran 2 min (from T-90 s to its last answer at T+30 s), though first seen at T
      undefined,
      'short-lived-gone',
      undefined,
      'restarting', // w-3: the third kill
    ]);
    expect(loop.steps[3].goneNow).toEqual([{ id: 'w-1', first: T, last: T + 30_000, started: T - 90_000 }]);
    expect(loop.rec.restarting).toMatchObject({
      id: `watchdog-restarting-webhooks-${T - 90_000}`,
      since: T - 90_000, // when the first one counted started
      count: 3,
      lastAt: T + 150_000,
    });
    expect(loop.rec.restarting?.recent.map((g) => g.id)).toEqual(['w-1', 'w-2', 'w-3']);
    // w-4 stays: stable 15 min after w-3's last answer (it has run 5 min by then)
    const calm = rounds(loop.rec, T + 240_000, 40, () => ['w-4'], loopStarts);
    expect(calm.restarts.filter(Boolean)).toEqual(['stable']);
  });

  it('without startedAt (instances of an older version) the old rule holds: the one already running never counts', () => {
    const loop = rounds(undefined, T, 8, loopIds);
    expect(loop.steps[0].next?.tracked).toEqual([{ id: 'w-1', first: T, last: T, pre: true }]);
    expect(loop.restarts.filter(Boolean)).toEqual(['short-lived-gone', 'short-lived-gone']);
    expect(loop.rec.restarting).toBeUndefined();
    // a fourth kill: warned, since when the first counted was first seen
    const more = rounds(loop.rec, T + 240_000, 4, (i) => [i < 2 ? 'w-4' : 'w-5']);
    expect(more.restarts).toContain('restarting');
    expect(more.rec.restarting).toMatchObject({ since: T + 60_000, count: 3 });
  });

  it('an instance that started long ago is never short-lived, however late it was first seen', () => {
    // a partition: long-running instances cut off for a while, back (new to the record), then gone again
    const ids = (i: number) => ['w-b', ...(i < 2 ? ['w-x'] : i < 4 ? ['w-y'] : i < 6 ? ['w-z'] : [])];
    const longAgo = rounds(settled(), T, 10, ids, (id) => (id === 'w-b' ? undefined : T - 3 * 3_600_000));
    expect(longAgo.restarts.filter(Boolean)).toEqual([]);
    expect(longAgo.rec.gone).toBeUndefined();
    // timed from their first answer instead (no startedAt), the same three are short-lived
    expect(rounds(settled(), T, 10, ids).restarts).toContain('restarting');
    // already running when the watching began, with a start long ago: not counted either
    const fresh = rounds(
      undefined,
      T,
      6,
      (i) => (i < 2 ? ['w-1'] : ['w-2']),
      () => T - 3_600_000,
    );
    expect(fresh.steps[0].next?.tracked?.[0]).toMatchObject({ pre: true, started: T - 3_600_000 });
    expect(fresh.steps.map((s) => s.goneNow)).toEqual(Array(6).fill(undefined));
  });

  it('clock skew: a start a little ahead is taken as the first answer, one far ahead or before 2020 is not believed', () => {
    expect(believedStart(T - 1_000, T)).toBe(T - 1_000);
    expect(believedStart(T + 30_000, T)).toBe(T); // the instance's clock is 30 s ahead: it has just started
    expect(believedStart(T + CLOCK_SKEW_MS, T)).toBe(T);
    expect(believedStart(T + CLOCK_SKEW_MS + 1, T)).toBeUndefined();
    expect(believedStart(0, T)).toBeUndefined();
    expect(believedStart(Date.UTC(1970, 0, 2), T)).toBeUndefined();
    expect(believedStart(Number.NaN, T)).toBeUndefined();
    expect(believedStart(undefined, T)).toBeUndefined();

    // a fresh record: starts 30 s ahead count (as started when first seen), starts 10 min ahead are unknown (pre)
    const ahead = (d: number) =>
      rounds(undefined, T, 8, loopIds, (id) => T + (id === 'w-1' ? 0 : (Number(id.slice(2)) - 1) * 60_000) + d);
    expect(ahead(30_000).steps[0].next?.tracked).toEqual([{ id: 'w-1', first: T, last: T, pre: true, started: T }]);
    expect(ahead(30_000).restarts).toContain('restarting');
    const farAhead = ahead(10 * MIN);
    expect(farAhead.steps[0].next?.tracked).toEqual([{ id: 'w-1', first: T, last: T, pre: true }]);
    expect(farAhead.restarts.filter(Boolean)).toEqual(['short-lived-gone', 'short-lived-gone']); // w-2, w-3 as before

    // a clock ahead never makes an instance seen answering for 5 min or more short-lived
    const seenLong = rounds(
      settled(),
      T,
      14,
      (i) => ['w-b', ...(i < 11 ? ['w-n'] : [])],
      (id) => (id === 'w-n' ? T + 50_000 : undefined),
    );
    expect(seenLong.rec.tracked?.find((t) => t.id === 'w-b')).not.toHaveProperty('started');
    expect(seenLong.steps.map((s) => s.goneNow).filter(Boolean)).toEqual([]);
    expect(seenLong.rec.gone).toBeUndefined();
  });

  it('a record of the previous version is read: its instances get their start when they next answer', () => {
    const old: WatchRecord = {
      service: 'webhooks',
      firstSeenAt: T - MIN,
      seenAt: T - 30_000,
      instances: 1,
      checkedAt: T - 30_000,
      tracked: [{ id: 'w-1', first: T - MIN, last: T - 30_000, pre: true }],
    };
    const step = observeRound(
      old,
      obs(T, ['w-1'], () => T - 2 * MIN),
      S,
    );
    expect(step.next?.tracked).toEqual([{ id: 'w-1', first: T - MIN, last: T, pre: true, started: T - 2 * MIN }]);
    const later = rounds(
      step.next,
      T + 30_000,
      3,
      () => ['w-2'],
      () => T,
    );
    expect(later.steps[1].goneNow).toEqual([{ id: 'w-1', first: T - MIN, last: T, started: T - 2 * MIN }]);
  });

  it('the record stays small with start times', () => {
    const startOf: Starts = (id) => (id === 'w-b' ? T - 3_600_000 : T + Number(id.slice(8)) * 30_000 - 5_000);
    const loop = rounds(settled(), T, 40, (i) => ['w-b', `w-crash-${i}`], startOf);
    expect(loop.rec.restarting?.count).toBe(38);
    expect(loop.rec.restarting?.recent.every((g) => g.started !== undefined)).toBe(true);
    expect(JSON.stringify(loop.rec).length).toBeLessThan(3_500);
  });

  it('the WARNING and the log say how long the instances ran from their start', () => {
    const loop = rounds(undefined, T, 8, loopIds, loopStarts);
    const a = serviceRestartingAlert(loop.rec, { intervalMs: 30_000 });
    expect(a.headline).toBe('webhooks keeps restarting: 3 instances went away soon after starting, within 4 min');
    expect(a.facts).toContainEqual([
      'Restarts seen',
      '3 instances ran for less than 5 min (from their start to their last answer) and went away, between 2026-03-01 09:58:30 UTC and 2026-03-01 10:02:30 UTC',
    ]);
    const gone = a.facts.find(([k]) => k === 'Instances gone')?.[1];
    expect(gone).toBe(
      'w-1 (started 09:58:30 UTC, last answered 10:00:30 UTC), w-2 (started 10:00:55 UTC, last answered 10:01:30 UTC), w-3 (started 10:01:55 UTC, last answered 10:02:30 UTC)',
    );
    // older instances (no start) and current ones mixed
    const mixed = rounds(undefined, T, 8, loopIds, (id) => (id === 'w-1' ? T - 90_000 : undefined));
    const legacy = rounds(mixed.rec, T + 240_000, 4, (i) => [i < 2 ? 'w-4' : 'w-5']);
    const facts = serviceRestartingAlert(legacy.rec, { intervalMs: 30_000 }).facts;
    expect(facts.find(([k]) => k === 'Restarts seen')?.[1]).toMatch(
      /^4 instances ran for less than 5 min \(from their start to their last answer; from their first answer, for those that did not say when they started\) and went away/,
    );
    expect(facts.find(([k]) => k === 'Instances gone')?.[1]).toContain('w-2 (answered 10:01:00 UTC–10:01:30 UTC)');

    const lines: string[] = [];
    const log = { warn: (_: unknown, m: string) => lines.push(m), info() {}, error() {} } as unknown as Logger;
    logRound(log, S.downAfterMs, 'webhooks', loop.steps[3], loop.steps[3].next, 1);
    logRound(log, S.downAfterMs, 'webhooks', mixed.steps[5], mixed.steps[5].next, 1);
    expect(lines).toEqual([
      'watchdog: instance w-1 of webhooks went away after running for 2 min (from its start to its last answer)',
      'watchdog: instance w-2 of webhooks went away after answering for 30 s (it did not say when it started)',
    ]);
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
