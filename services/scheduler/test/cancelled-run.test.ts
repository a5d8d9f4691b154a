import type { JobRun } from '@vigil/shared';
import { waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

const JOBS = `timezone: UTC
jobs:
  sync:
    every: 1h
    handler: health.daily
    concurrency: replace
  mirror:
    handler: health.daily
    concurrency: replace
`;

describe('a run cancelled on purpose (concurrency replace)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(JOBS, '2026-01-01T05:30:00Z');
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('is recorded as cancelled, is no failure in health, and the next success is no "recovery"', async () => {
    const scheduledAt = '2026-01-01T05:00:00.000Z';
    await h.runner('requested', { runId: 'sync-a', job: 'sync', scheduledAt, trigger: 'manual' });
    await h.runner('failed', {
      runId: 'sync-a',
      job: 'sync',
      scheduledAt,
      trigger: 'manual',
      error: { type: 'cancelled', message: 'replaced by sync-b', code: 'VIGIL_E_RUN_CANCELLED', class: 'permanent' },
    });
    const rec = await waitFor(async () => {
      const r = await h.api('GET', '/api/runs/sync-a');
      return r.status === 200 && r.body.status !== 'requested' ? r.body : undefined;
    });
    expect(rec.status).toBe('cancelled');
    await h.runner('requested', { runId: 'sync-b', job: 'sync', scheduledAt, trigger: 'manual' });
    await h.runner('succeeded', { runId: 'sync-b', job: 'sync', scheduledAt, trigger: 'manual' });
    await waitFor(async () => (await h.api('GET', '/api/runs/sync-b')).body?.status === 'succeeded');
    const health = await h.api('GET', '/api/system/health');
    expect(health.body.problems.filter((p: string) => p.startsWith('sync:'))).toEqual([]);
    expect(h.events.of('job.recovered.sync')).toHaveLength(0);
  });

  it('does not hide a failure before it: failed → cancelled → succeeded is one recovery from the failure', async () => {
    const scheduledAt = '2026-01-01T05:00:00.000Z';
    const run = (runId: string) => ({ runId, job: 'mirror', scheduledAt, trigger: 'manual' as const });
    // each run folded into the job state before the next one starts (the history consumer folds concurrently)
    const finish = async (runId: string, verb: string, extra: Partial<JobRun> = {}) => {
      await h.runner('requested', run(runId));
      await h.runner(verb, { ...run(runId), ...extra });
      return waitFor(async () => {
        const job = (await h.api('GET', '/api/jobs/mirror')).body;
        return job.lastRunId === runId ? job : undefined;
      });
    };
    expect(
      await finish('mirror-a', 'failed', { error: { type: 'Error', message: 'upstream down', class: 'transient' } }),
    ).toMatchObject({ lastStatus: 'failed' });
    const cancel = { type: 'cancelled', message: 'replaced by mirror-c', code: 'VIGIL_E_RUN_CANCELLED' };
    // the job view still shows what its last run did
    expect(await finish('mirror-b', 'failed', { error: { ...cancel, class: 'permanent' } })).toMatchObject({
      lastStatus: 'cancelled',
    });
    await finish('mirror-c', 'succeeded');
    const [rec] = await h.events.waitFor('job.recovered.mirror');
    expect(rec.event.data).toMatchObject({
      runId: 'mirror-c',
      status: 'recovered',
      reason: 'first success after a failed run',
    });
    // exactly one: the next success is no recovery, and the one after a new failure is the second
    await finish('mirror-d', 'succeeded');
    await finish('mirror-e', 'partial');
    await finish('mirror-f', 'succeeded');
    const all = await h.events.waitFor('job.recovered.mirror', 2);
    expect(all.map((e) => [e.event.data.runId, e.event.data.reason])).toEqual([
      ['mirror-c', 'first success after a failed run'],
      ['mirror-f', 'first success after a partial run'],
    ]);
  });
});
