import type { JobDefinition } from '@vigil/shared';
import { describe, expect, it } from 'vitest';
import { decideStart } from '../src/concurrency.js';
import type { RunRecord } from '../src/run-record.js';

const def = { name: 'reports', concurrency: 'forbid' } as JobDefinition;
const runId = 'tick.1796547765';
const record = (extra: Partial<RunRecord>): RunRecord => ({
  runId,
  job: 'reports',
  trigger: 'schedule',
  status: 'requested',
  attempt: 1,
  scheduledAt: '2026-11-24T14:03:00.000Z',
  requestedAt: '2026-11-24T14:03:00.120Z',
  history: [{ status: 'requested', at: '2026-11-24T14:03:00.120Z' }],
  updatedAt: '2026-11-24T14:03:00.120Z',
  ...extra,
});
const now = Date.parse('2026-11-24T14:05:00Z');

describe('a slot skipped under forbid says whether the run holding the job runs or waits for a runner', () => {
  it('a run requested and never started is queued since its request, not "still running"', () => {
    const d = decideStart(def, undefined, runId, { manual: false, activeRun: record({}), nowMs: now });
    expect(d).toEqual({
      action: 'skip',
      reason: `run ${runId} is queued since 14:03 UTC and has not started (concurrency forbid)`,
    });
  });

  it('queued since another day: the date too', () => {
    const d = decideStart(def, undefined, runId, {
      manual: false,
      activeRun: record({}),
      nowMs: Date.parse('2026-11-25T01:00:00Z'),
    });
    expect(d).toMatchObject({
      reason: `run ${runId} is queued since 2026-11-24 14:03 UTC and has not started (concurrency forbid)`,
    });
  });

  it('a started run (job.started, or an outcome only a started run has) is still running', () => {
    for (const rec of [
      record({ status: 'started', startedAt: '2026-11-24T14:03:01.000Z' }),
      record({ status: 'requested', startedAt: '2026-11-24T14:03:01.000Z' }),
    ]) {
      expect(decideStart(def, undefined, runId, { manual: false, activeRun: rec, nowMs: now })).toEqual({
        action: 'skip',
        reason: `run ${runId} is still running (concurrency forbid)`,
      });
    }
  });

  it('without the record (unknown yet): still running, as before; a manual trigger is refused with the same words', () => {
    expect(decideStart(def, undefined, runId, { manual: false })).toMatchObject({
      reason: `run ${runId} is still running (concurrency forbid)`,
    });
    expect(decideStart(def, undefined, runId, { manual: true, activeRun: record({}), nowMs: now })).toEqual({
      action: 'conflict',
      reason: `run ${runId} is queued since 14:03 UTC and has not started (concurrency forbid); force: true (vigil trigger --force) starts another`,
      runningRunId: runId,
    });
  });
});
