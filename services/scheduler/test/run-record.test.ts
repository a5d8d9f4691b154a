import type { JobRun } from '@vigil/shared';
import { describe, expect, it } from 'vitest';
import { planBackup } from '../src/backup-plan.js';
import { applyRunToJob, emptyJobState } from '../src/job-state.js';
import { applyRunEvent, FOLDED_IDS_MAX, hasStarted, type RunRecord } from '../src/run-record.js';

const run = (status: string, extra: Partial<JobRun> = {}): JobRun =>
  ({
    runId: 'r.1',
    job: 'r',
    attempt: 1,
    trigger: 'schedule',
    scheduledAt: '2026-01-01T06:00:00.000Z',
    status,
    ...extra,
  }) as JobRun;

function fold(events: [string, Partial<JobRun>?][]): RunRecord {
  let rec: RunRecord | undefined;
  events.forEach(([verb, extra], i) => {
    rec = applyRunEvent(rec, verb, run(verb, extra), `2026-01-01T06:00:0${i}.000Z`);
  });
  return rec as RunRecord;
}

describe('run record', () => {
  it('keeps the final outcome when events arrive out of order across replicas', () => {
    const rec = fold([
      ['succeeded', { startedAt: '2026-01-01T06:00:00.100Z', durationMs: 5 }],
      ['started'],
      ['requested'],
    ]);
    expect(rec.status).toBe('succeeded');
    expect(rec.startedAt).toBe('2026-01-01T06:00:00.100Z');
    expect(rec.requestedAt).toBeDefined();
    expect(rec.history.map((h) => h.status)).toEqual(['succeeded', 'started', 'requested']);
  });
  it("keeps the handler's details, unless they are too big for the run history", () => {
    const small = fold([['requested'], ['succeeded', { details: { model: 'fallback' } }]]);
    expect(small.details).toEqual({ model: 'fallback' });
    const big = fold([['succeeded', { details: { tail: 'x'.repeat(20_000) } }]]);
    expect(big.details).toEqual({ omitted: expect.stringMatching(/^20\d{3} bytes of details, .*job\.\* event$/) });
  });

  it("a stuck verdict keeps the operator's reason; the verdict is kept beside it", () => {
    const stuck = fold([
      ['requested', { reason: 'slow 2 replaces' }],
      ['started'],
      ['stuck', { reason: 'still running after 20s (timeout)', durationMs: 20_000 }],
    ]);
    expect(stuck).toMatchObject({
      status: 'stuck',
      reason: 'slow 2 replaces',
      verdict: 'still running after 20s (timeout)',
    });
    const done = applyRunEvent(
      stuck,
      'succeeded',
      run('succeeded', { reason: 'slow 2 replaces' }),
      '2026-01-01T06:01:00.000Z',
    );
    expect(done).toMatchObject({ status: 'succeeded', reason: 'slow 2 replaces' });
    // a slot that was never requested: the verdict is all there is
    expect(fold([['missed', { reason: 'scheduler was down' }]])).toMatchObject({
      reason: 'scheduler was down',
      verdict: 'scheduler was down',
    });
  });

  it('a run that finished fast without job.started counts as started', () => {
    expect(hasStarted(fold([['requested'], ['succeeded']]))).toBe(true);
    expect(hasStarted(fold([['requested']]))).toBe(false);
  });
});

describe('backup plan', () => {
  it('re-requests only the failed targets of a partial run', () => {
    const rec = fold([
      ['requested'],
      [
        'partial',
        {
          stats: { targets: 3, succeeded: 1, failed: 2, skipped: 0 },
          failures: [
            { target: 'acme', error: 'x' },
            { target: 'globex', error: 'y' },
          ],
        },
      ],
    ]);
    expect(planBackup(rec)).toMatchObject({ kind: 'rerun', targets: ['acme', 'globex'] });
  });
  it('re-runs every target of a "partial" that did not say which targets failed (seed 003: none skipped silently)', () => {
    const rec = fold([['requested'], ['partial', { stats: { targets: 3, succeeded: 0, failed: 0, skipped: 3 } }]]);
    expect(planBackup(rec)).toMatchObject({ kind: 'rerun', why: 'partial run did not say which targets failed' });
  });
  it('does nothing for a success or a run still in progress or queued; re-runs all for a slot missed unrequested', () => {
    expect(planBackup(fold([['requested'], ['succeeded']])).kind).toBe('none');
    expect(planBackup(fold([['requested'], ['started']])).kind).toBe('none');
    // requested, then missed, never started: still queued (a runner that comes back runs it), so no backup yet
    expect(planBackup(fold([['requested'], ['missed']]))).toMatchObject({ kind: 'none' });
    // a slot reported missed without ever being requested: every target
    expect(planBackup(fold([['missed']]))).toMatchObject({ kind: 'rerun', targets: undefined });
  });
});

describe('job state', () => {
  it('flags the first success after a bad run as a recovery, once', () => {
    let s = emptyJobState();
    s = applyRunToJob(s, 'a', 'requested', 't1').state;
    expect(s.currentRunId).toBe('a');
    s = applyRunToJob(s, 'a', 'failed', 't2').state;
    expect(s.currentRunId).toBeUndefined();
    const r = applyRunToJob(s, 'b', 'succeeded', 't3');
    expect(r.recovered).toBe(true);
    expect(r.state.lastSuccessAt).toBe('t3');
    expect(applyRunToJob(r.state, 'c', 'succeeded', 't4').recovered).toBe(false);
  });

  it('a cancelled or skipped run in between neither hides the failure nor counts as one', () => {
    let s = emptyJobState();
    s = applyRunToJob(s, 'a', 'failed', 't1').state;
    s = applyRunToJob(s, 'b', 'cancelled', 't2').state;
    s = applyRunToJob(s, 'x', 'skipped', 't3').state;
    expect(s).toMatchObject({ lastStatus: 'cancelled', lastRunId: 'b', lastOutcome: 'failed' });
    const r = applyRunToJob(s, 'c', 'succeeded', 't4');
    expect(r).toMatchObject({ recovered: true, recoveredFrom: 'failed' });
    expect(applyRunToJob(r.state, 'd', 'cancelled', 't5').state.lastOutcome).toBe('succeeded');
    // only cancelled runs before: nothing to recover from
    const c = applyRunToJob(applyRunToJob(emptyJobState(), 'e', 'cancelled', 't6').state, 'f', 'succeeded', 't7');
    expect(c.recovered).toBe(false);
    // a state stored before lastOutcome existed: its lastStatus is the verdict unless it was a cancel
    const legacy = { paused: false, lastStatus: 'partial', lastRunId: 'g' };
    const l = applyRunToJob(applyRunToJob(legacy, 'h', 'cancelled', 't8').state, 'i', 'succeeded', 't9');
    expect(l).toMatchObject({ recovered: true, recoveredFrom: 'partial' });
  });
});

describe('run record: folding by event id', () => {
  it('an event folded already (redelivered) changes nothing; the ids kept are bounded', () => {
    let rec = applyRunEvent(undefined, 'requested', run('requested'), 't1', 'ev-1');
    rec = applyRunEvent(rec, 'started', run('started'), 't2', 'ev-2');
    const again = applyRunEvent(rec, 'requested', run('requested'), 't3', 'ev-1');
    expect(again).toBe(rec);
    rec = applyRunEvent(
      applyRunEvent(rec, 'succeeded', run('succeeded'), 't4', 'ev-3'),
      'started',
      run('started'),
      't5',
      'ev-2',
    );
    expect(rec.history.map((e) => e.status)).toEqual(['requested', 'started', 'succeeded']);
    expect(rec.eventIds).toEqual(['ev-1', 'ev-2', 'ev-3']);
    for (let i = 0; i < 100; i++) rec = applyRunEvent(rec, 'recovered', run('recovered'), 't6', `r-${i}`);
    expect(rec.eventIds).toHaveLength(FOLDED_IDS_MAX);
    expect(rec.eventIds?.at(-1)).toBe('r-99');
  });
});
