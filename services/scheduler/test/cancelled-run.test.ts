import { waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

const JOBS = `timezone: UTC
jobs:
  sync:
    every: 1h
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
});
