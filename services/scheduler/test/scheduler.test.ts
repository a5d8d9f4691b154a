import { waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

const JOBS = `timezone: UTC
jobs:
  tick:
    every: 1m
    handler: health.daily
    startDeadline: 10s
    timeout: 30s
  rep:
    schedule: "0 6 * * *"
    handler: report.daily
    targets: [acme, globex, initech]
    startDeadline: 1m
    timeout: 20m
    backup: { after: 30m }
`;
const at = (s: string) => new Date(s).getTime();

describe('scheduler watchdogs and history (real NATS, manual clock)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(JOBS, '2026-01-01T05:58:30Z');
  });
  afterAll(async () => {
    await h?.stop();
  });

  const run = (runId: string) =>
    waitFor(async () => {
      const r = await h.api('GET', `/api/runs/${runId}`);
      return r.status === 200 ? r.body : undefined;
    });

  it('publishes one job.requested per slot with runId = <job>.<slot seconds> and Nats-Msg-Id = runId', async () => {
    await h.clock.set(at('2026-01-01T05:59:00Z'));
    const [ev] = await h.events.waitFor('job.requested.tick');
    const runId = `tick.${at('2026-01-01T05:59:00Z') / 1000}`;
    expect(ev.event.data).toMatchObject({
      runId,
      job: 'tick',
      trigger: 'schedule',
      status: 'requested',
      scheduledAt: '2026-01-01T05:59:00.000Z',
    });
    expect(ev.headers['Nats-Msg-Id']).toBe(runId);
    expect((await run(runId)).status).toBe('requested');
  });

  it('a run that never starts is reported missed at its start deadline, not before', async () => {
    const runId = `tick.${at('2026-01-01T05:59:00Z') / 1000}`;
    await h.clock.set(at('2026-01-01T05:59:09.900Z'));
    expect(h.events.of('job.missed.tick')).toHaveLength(0);
    const firedAt = Date.now();
    await h.clock.set(at('2026-01-01T05:59:10Z'));
    const [missed] = await h.events.waitFor('job.missed.tick');
    expect(Date.now() - firedAt).toBeLessThan(1_000);
    expect(missed.event.data).toMatchObject({ runId, status: 'missed' });
    expect(missed.event.data.reason).toMatch(/not started within 10s/);
    await waitFor(async () => (await run(runId)).status === 'missed');
  });

  it('a run past its timeout is reported stuck; the next success after it is a recovery', async () => {
    await h.clock.set(at('2026-01-01T06:00:00Z'));
    const runId = `tick.${at('2026-01-01T06:00:00Z') / 1000}`;
    await waitFor(() => h.events.of('job.requested.tick').find((e) => e.event.data.runId === runId));
    await run(runId);
    await h.runner('started', { runId, job: 'tick', startedAt: new Date(h.clock.now()).toISOString() });
    await waitFor(async () => (await run(runId)).status === 'started');
    await h.clock.advance(29_000);
    expect(h.events.of('job.stuck.tick')).toHaveLength(0);
    await h.clock.advance(1_000);
    const [stuck] = await h.events.waitFor('job.stuck.tick');
    expect(stuck.event.data).toMatchObject({ runId, status: 'stuck' });

    const next = `tick.${at('2026-01-01T06:01:00Z') / 1000}`;
    await h.clock.set(at('2026-01-01T06:01:00Z'));
    await run(next);
    await h.runner('succeeded', {
      runId: next,
      job: 'tick',
      startedAt: new Date(h.clock.now()).toISOString(),
      durationMs: 5,
    });
    const [rec] = await h.events.waitFor('job.recovered.tick');
    expect(rec.event.data).toMatchObject({ runId: next, status: 'recovered' });
    const jobs = await h.api('GET', '/api/jobs');
    const tick = jobs.body.jobs.find((j: { name: string }) => j.name === 'tick');
    expect(tick).toMatchObject({ lastStatus: 'succeeded', paused: false, nextRunAt: '2026-01-01T06:02:00.000Z' });
    expect(tick.lastSuccessAt).toBeDefined();
    // the scheduler exports the last success from the job state, so the metric survives runner restarts
    const metrics = await h.api('GET', '/metrics');
    const seconds = Date.parse(tick.lastSuccessAt) / 1000;
    expect(metrics.body).toContain(`vigil_job_last_success_timestamp_seconds{job="tick"} ${seconds}`);
    // and how long a success may take to come, from each job's schedule (tick: every minute, rep: daily)
    expect(metrics.body).toContain('vigil_job_expected_interval_seconds{job="tick"} 60');
    expect(metrics.body).toContain('vigil_job_expected_interval_seconds{job="rep"} 86400');
  });

  it('backup re-requests only the failed targets of a partial run', async () => {
    const runId = `rep.${at('2026-01-01T06:00:00Z') / 1000}`;
    await run(runId);
    await h.runner('partial', {
      runId,
      job: 'rep',
      scheduledAt: '2026-01-01T06:00:00.000Z',
      startedAt: new Date(h.clock.now()).toISOString(),
      stats: { targets: 3, succeeded: 1, failed: 2, skipped: 0 },
      failures: [
        { target: 'acme', error: 'timeout' },
        { target: 'initech', error: 'model unavailable' },
      ],
    });
    await waitFor(async () => (await run(runId)).status === 'partial');
    await h.clock.set(at('2026-01-01T06:30:00Z'));
    const backup = await waitFor(() => h.events.of('job.requested.rep').find((e) => e.event.data.trigger === 'backup'));
    expect(backup.event.data).toMatchObject({ runId: `${runId}.backup1`, targets: ['acme', 'initech'] });
    const health = await h.api('GET', '/api/system/health');
    expect(health.status).toBe(200);
    expect(health.body.coverage).toContainEqual({ job: 'rep', covered: 1, total: 3, ratio: 1 / 3, ranToday: true });
    // the page says what is wrong, not only that something is
    expect(health.body.ok).toBe(false);
    expect(health.body.problems).toEqual(
      expect.arrayContaining(['rep: 1/3 targets covered today', `rep: last run partial (${runId})`]),
    );
    const scheduler = health.body.services.find((s: { service: string }) => s.service === 'scheduler');
    expect(scheduler.ready).toBe(true);
    expect(health.body.services.find((s: { service: string }) => s.service === 'notifier').ready).toBe(false);
  });
});
