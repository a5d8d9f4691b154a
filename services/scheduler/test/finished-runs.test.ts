import type { JobRun } from '@vigil/shared';
import { describe, expect, it } from 'vitest';
import { planBackup } from '../src/backup-plan.js';
import { activeRunId, confirmedOccupier } from '../src/concurrency.js';
import type { SchedulerContext } from '../src/context.js';
import { applyRunToJob, dropRun, emptyJobState, type JobState } from '../src/job-state.js';
import { encodeJson } from '../src/kv-json.js';
import { applyRunEvent, type RunRecord } from '../src/run-record.js';

const SLOT = '2026-01-01T01:00:00.000Z';
const data = (runId: string, verb: string, extra: Partial<JobRun> = {}): JobRun =>
  ({ runId, job: 'daily', attempt: 1, trigger: 'schedule', scheduledAt: SLOT, status: verb, ...extra }) as JobRun;

function fold(runId: string, events: [string, string, Partial<JobRun>?][]): RunRecord {
  let rec: RunRecord | undefined;
  for (const [verb, at, extra] of events) rec = applyRunEvent(rec, verb, data(runId, verb, extra), at);
  return rec as RunRecord;
}

describe('a finished run never stays in its job’s active runs', () => {
  it('dropRun takes the run out of activeRunIds and currentRunId, and leaves the rest alone', () => {
    // what a late job.requested (folded after job.succeeded) used to leave behind
    let s = applyRunToJob(emptyJobState(), 'X', 'succeeded', 't1').state;
    s = applyRunToJob(s, 'X', 'requested', 't0').state;
    expect(s).toMatchObject({ activeRunIds: ['X'], currentRunId: 'X', currentStatus: 'requested' });
    const fixed = dropRun(s, 'X') as JobState;
    expect(fixed.activeRunIds).toBeUndefined();
    expect(fixed.currentRunId).toBeUndefined();
    expect(fixed).toMatchObject({ lastStatus: 'succeeded', lastRunId: 'X', lastSuccessAt: 't1' });
    expect(dropRun(fixed, 'X')).toBeUndefined();
    const two = { paused: false, activeRunIds: ['X', 'Y'], currentRunId: 'X', currentStatus: 'started' };
    expect(dropRun(two, 'X')).toMatchObject({ activeRunIds: ['Y'], currentRunId: 'Y', currentStatus: 'requested' });
  });

  /**
   * The incident: the job state lists run X (its requested folded after its end), and this replica's live copy of
   * vigil_runs does not have X's record (the two buckets are watched apart; a watch re-opened after the broker
   * restart). activeRunId then trusts the job state; the stored record, read before skipping, says X succeeded.
   */
  it('confirmedOccupier reads the stored record: a terminal one never occupies the job, and is dropped', async () => {
    const x = fold('X', [
      ['succeeded', '2026-01-01T00:59:58.026Z', { trigger: 'manual', durationMs: 26 }],
      ['requested', '2026-01-01T00:59:58.000Z', { trigger: 'manual' }],
    ]);
    expect(x.status).toBe('succeeded');
    let state: JobState = { paused: false, activeRunIds: ['X'], currentRunId: 'X', currentStatus: 'requested' };
    const liveRuns = new Map<string, RunRecord>(); // stale: X not in it
    // without the stored record the job state is trusted: what skipped the 01:00 slot
    expect(activeRunId(state, liveRuns)).toBe('X');
    let rev = 1;
    const entry = (v: unknown, revision: number) => {
      const value = encodeJson(v);
      return { value, length: value.length, revision, operation: 'PUT' };
    };
    const kvJobs = {
      get: async () => entry(state, rev),
      update: async (_k: string, v: Uint8Array) => {
        state = JSON.parse(new TextDecoder().decode(v));
        return ++rev;
      },
      put: async (_k: string, v: Uint8Array) => {
        state = JSON.parse(new TextDecoder().decode(v));
        return ++rev;
      },
      create: async (_k: string, v: Uint8Array) => {
        state = JSON.parse(new TextDecoder().decode(v));
        return ++rev;
      },
    };
    const ctx = {
      kv: {
        runs: {
          get: async (id: string) => (id === 'X' ? entry(x, 1) : null),
        },
        jobs: kvJobs,
      },
      log: { warn: () => undefined },
      occupyingRun: (_job: string, exclude?: ReadonlySet<string>) =>
        activeRunId(state, liveRuns, () => false, undefined, exclude),
    } as unknown as SchedulerContext;
    expect(await confirmedOccupier(ctx, 'daily')).toBeUndefined();
    expect(state.activeRunIds).toBeUndefined();
    expect(state.currentRunId).toBeUndefined();
  });
});

describe('backup plan: queued runs and successes since the slot', () => {
  const TARGETS = ['acme', 'globex', 'initech'];
  it('a run that missed its start deadline while still queued (requested, never started) gets no backup', () => {
    const queued = fold('d.1', [
      ['requested', '2026-01-01T01:00:00.000Z'],
      ['missed', '2026-01-01T01:02:00.000Z', { reason: 'not started within 120s of its slot' }],
    ]);
    expect(planBackup(queued, [], TARGETS)).toMatchObject({ kind: 'none' });
    expect(planBackup(queued).why).toContain('still queued');
    // once it ran after all and failed somewhere, the backup covers what failed
    const ranLate = applyRunEvent(
      queued,
      'failed',
      data('d.1', 'failed', { startedAt: '2026-01-01T01:20:00.000Z', failures: [{ target: 'acme', error: 'x' }] }),
      '2026-01-01T01:21:00.000Z',
    );
    expect(planBackup(ranLate, [], TARGETS)).toMatchObject({ kind: 'rerun', targets: ['acme'] });
    // a slot never requested (catch-up reported it missed) is not queued anywhere
    expect(planBackup(fold('d.2', [['missed', '2026-01-01T01:02:00.000Z']]), [], TARGETS)).toMatchObject({
      kind: 'rerun',
    });
  });

  it('targets another run of the job brought home since the slot are not run again', () => {
    const slotRun = fold('d.1', [
      ['requested', '2026-01-01T01:00:00.000Z'],
      ['failed', '2026-01-01T01:01:00.000Z', { failures: [{ target: 'initech', error: 'timeout' }] }],
    ]);
    const manual = fold('M', [
      [
        'requested',
        '2026-01-01T01:08:30.000Z',
        { trigger: 'manual', targets: ['initech'], scheduledAt: '2026-01-01T01:08:30.000Z' },
      ],
      [
        'succeeded',
        '2026-01-01T01:08:41.000Z',
        { trigger: 'manual', targets: ['initech'], scheduledAt: '2026-01-01T01:08:30.000Z' },
      ],
    ]);
    expect(planBackup(slotRun, [slotRun, manual], TARGETS)).toMatchObject({ kind: 'none' });
    expect(planBackup(slotRun, [manual], TARGETS).why).toContain('run M');
    // two failed, one brought home: the backup runs the other
    const two = fold('d.1', [
      ['requested', '2026-01-01T01:00:00.000Z'],
      [
        'failed',
        '2026-01-01T01:01:00.000Z',
        {
          failures: [
            { target: 'acme', error: 'x' },
            { target: 'initech', error: 'y' },
          ],
        },
      ],
    ]);
    expect(planBackup(two, [manual], TARGETS)).toMatchObject({ kind: 'rerun', targets: ['acme'] });
    // a run with no targets (all) that succeeded covers every target; a failed re-run covers nothing
    const full = fold('F', [
      ['succeeded', '2026-01-01T01:05:00.000Z', { trigger: 'manual', scheduledAt: '2026-01-01T01:05:00.000Z' }],
    ]);
    expect(
      planBackup(
        fold('d.1', [
          ['requested', SLOT],
          ['failed', SLOT],
        ]),
        [full],
        undefined,
      ),
    ).toMatchObject({ kind: 'none' });
    const bad = fold('B', [
      ['failed', '2026-01-01T01:05:00.000Z', { targets: ['initech'], scheduledAt: '2026-01-01T01:05:00.000Z' }],
    ]);
    expect(planBackup(slotRun, [bad], TARGETS)).toMatchObject({ kind: 'rerun', targets: ['initech'] });
    // a success from before the slot says nothing about it
    const before = fold('E', [
      ['requested', '2026-01-01T00:50:00.000Z', { targets: ['initech'], scheduledAt: '2026-01-01T00:50:00.000Z' }],
      ['succeeded', '2026-01-01T00:51:00.000Z', { targets: ['initech'], scheduledAt: '2026-01-01T00:50:00.000Z' }],
    ]);
    expect(planBackup(slotRun, [before], TARGETS)).toMatchObject({ kind: 'rerun', targets: ['initech'] });
  });
});
