import { waitFor } from '@vigil/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobState } from '../src/job-state.js';
import { type Harness, startHarness } from './harness.js';

const JOBS = `timezone: UTC
jobs:
  daily:
    schedule: "0 * * * *"
    handler: report.daily
    targets: [acme, globex, initech]
    concurrency: forbid
    startDeadline: 2m
    timeout: 30m
`;
const MIN = 60_000;
const at = (s: string) => new Date(s).getTime();
const iso = (ms: number) => new Date(ms).toISOString();

/** Every job.* event published so far folded by the history consumer (handler done, acked). */
async function historyIdle(h: Harness): Promise<void> {
  const jsm = await h.nc.jetstreamManager();
  await waitFor(async () => {
    const info = await jsm.consumers.info('VIGIL_JOBS', 'scheduler-history');
    return info.num_pending === 0 && info.num_ack_pending === 0;
  });
}

async function jobState(h: Harness): Promise<JobState | undefined> {
  const kv = await h.nc.jetstream().views.kv('vigil_jobs');
  const e = await kv.get('daily');
  return e && e.length > 0 ? (e.json() as JobState) : undefined;
}

describe('events of a finished run that come late (redelivered after a broker restart)', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('job.requested folded after job.succeeded does not put the run back into the active runs; the next slot runs', async () => {
    h = await startHarness(JOBS, '2026-01-01T00:59:00Z');
    const manual = '01M94DTSEKAAAAAAAAAAAAAAAA';
    const run = {
      runId: manual,
      job: 'daily',
      trigger: 'manual' as const,
      scheduledAt: iso(at('2026-01-01T00:59:58Z')),
    };
    // the runner's end first (26 ms, no job.started), then the request redelivered
    await h.runner('succeeded', { ...run, durationMs: 26 });
    await waitFor(async () => (await h!.api('GET', `/api/runs/${manual}`)).body.status === 'succeeded');
    await h.runner('requested', run);
    await waitFor(async () => (await h!.api('GET', `/api/runs/${manual}`)).body.history?.length === 2);
    await historyIdle(h);
    const state = await jobState(h);
    expect(state?.activeRunIds ?? []).not.toContain(manual);
    expect(state?.currentRunId).toBeUndefined();
    expect((await h.api('GET', `/api/runs/${manual}`)).body.status).toBe('succeeded');

    // a late job.started of it changes nothing either
    await h.runner('started', run);
    await waitFor(async () => (await h!.api('GET', `/api/runs/${manual}`)).body.history?.length === 3);
    await historyIdle(h);
    expect((await jobState(h))?.activeRunIds ?? []).not.toContain(manual);

    await h.clock.set(at('2026-01-01T01:00:00Z'));
    const slot = `daily.${at('2026-01-01T01:00:00Z') / 1000}`;
    await waitFor(() => h!.events.of('job.requested.daily').find((e) => e.event.data.runId === slot));
    expect(h.events.of('job.skipped.daily')).toHaveLength(0);
  });

  it('a job state that still lists a finished run (written by an older version) is healed, not obeyed', async () => {
    h = await startHarness(JOBS, '2026-01-01T00:59:00Z');
    const manual = '01M94DTSEKBBBBBBBBBBBBBBBB';
    const run = {
      runId: manual,
      job: 'daily',
      trigger: 'manual' as const,
      scheduledAt: iso(at('2026-01-01T00:59:58Z')),
    };
    await h.runner('requested', run);
    await h.runner('succeeded', { ...run, durationMs: 26 });
    await waitFor(async () => (await h!.api('GET', `/api/runs/${manual}`)).body.status === 'succeeded');
    await historyIdle(h);
    const kv = await h.nc.jetstream().views.kv('vigil_jobs');
    const prev = (await jobState(h)) ?? { paused: false };
    await kv.put(
      'daily',
      JSON.stringify({ ...prev, activeRunIds: [manual], currentRunId: manual, currentStatus: 'requested' }),
    );
    await h.clock.set(at('2026-01-01T01:00:00Z'));
    const slot = `daily.${at('2026-01-01T01:00:00Z') / 1000}`;
    await waitFor(() => h!.events.of('job.requested.daily').find((e) => e.event.data.runId === slot));
    expect(h.events.of('job.skipped.daily')).toHaveLength(0);
  });
});

describe('a run waiting behind another run of its job (forbid) is not missed by the start deadline', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  /** The 01:00 slot starts; a forced manual run is requested at 01:01 and waits behind it at the runner. */
  async function waitingRun(): Promise<{ h: Harness; slot: string; waiting: string }> {
    h = await startHarness(JOBS, '2026-01-01T00:59:30Z');
    const slotAt = at('2026-01-01T01:00:00Z');
    const slot = `daily.${slotAt / 1000}`;
    await h.clock.set(slotAt);
    await waitFor(() => h!.events.of('job.requested.daily').find((e) => e.event.data.runId === slot));
    await h.runner('started', { runId: slot, job: 'daily', scheduledAt: iso(slotAt), startedAt: iso(slotAt) });
    await waitFor(async () => (await h!.api('GET', `/api/runs/${slot}`)).body.status === 'started');
    await h.clock.set(slotAt + MIN);
    const res = await h.api('POST', '/api/jobs/daily/trigger', { reason: 'again', force: true });
    expect(res.status).toBe(202);
    const waiting = res.body.runId as string;
    await waitFor(async () => (await h!.api('GET', `/api/runs/${waiting}`)).body.status === 'requested');
    return { h, slot, waiting };
  }

  async function stepTo(h: Harness, to: number): Promise<void> {
    while (h.clock.now() < to) {
      await h.clock.set(Math.min(to, h.clock.now() + 30_000));
      // let a watchdog that fired re-arm (it reads KV first)
      await new Promise((r) => setImmediate(r));
      await waitFor(async () => true);
    }
  }

  it('no verdict while the run ahead runs; the deadline counts from its end', async () => {
    const { h, slot, waiting } = await waitingRun();
    await stepTo(h, at('2026-01-01T01:20:00Z'));
    expect(h.events.of('job.missed.daily')).toHaveLength(0);
    await h.runner('succeeded', { runId: slot, job: 'daily', startedAt: iso(at('2026-01-01T01:00:00Z')) });
    await waitFor(async () => (await h.api('GET', `/api/runs/${slot}`)).body.status === 'succeeded');
    await stepTo(h, at('2026-01-01T01:21:50Z'));
    expect(h.events.of('job.missed.daily')).toHaveLength(0);
    await stepTo(h, at('2026-01-01T01:22:30Z'));
    const [missed] = await h.events.waitFor('job.missed.daily');
    expect(missed.event.data).toMatchObject({
      runId: waiting,
      reason: `not started within 120s of the end of run ${slot}, which it waited behind`,
    });
  }, 30_000);

  it('the run ahead stuck: the verdict names it', async () => {
    const { h, slot, waiting } = await waitingRun();
    await stepTo(h, at('2026-01-01T01:29:30Z'));
    expect(h.events.of('job.missed.daily')).toHaveLength(0);
    await stepTo(h, at('2026-01-01T01:33:00Z'));
    await h.events.waitFor('job.stuck.daily');
    const [missed] = await h.events.waitFor('job.missed.daily');
    expect(missed.event.data.runId).toBe(waiting);
    expect(missed.event.data.reason).toContain(`waits behind run ${slot}`);
  }, 30_000);
});
