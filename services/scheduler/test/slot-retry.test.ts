import type { JobRun } from '@vigil/shared';
import { waitFor } from '@vigil/shared/testing';
import { JSONCodec } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

/**
 * A slot whose job.requested is already stored while its claim is not `done` (a publish that timed out on a
 * reconnect though the message was stored, a failed `done` write, a holder that died in between): the
 * take-over finishes the slot for that same run; it neither skips it (`forbid`), cancels it (`replace`), nor
 * stores it a second time (the stream's msg-id de-dup ends after 2 minutes).
 */
const JOBS = `timezone: UTC
jobs:
  fb:
    schedule: "0 6 * * *"
    handler: health.daily
    startDeadline: 1m
  rp:
    schedule: "0 7 * * *"
    handler: health.daily
    concurrency: replace
    startDeadline: 1m
  late:
    schedule: "0 8 * * *"
    handler: health.daily
    startDeadline: 1m
`;
const at = (s: string) => new Date(s).getTime();
const iso = (ms: number) => new Date(ms).toISOString();
const jc = JSONCodec();

describe('a slot retried or taken over after its job.requested was stored is the same run', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(JOBS, '2026-01-01T05:50:00Z');
  });
  afterAll(async () => {
    await h?.stop();
  });

  const slotState = async (runId: string) => {
    const kv = await h.nc.jetstream().views.kv('vigil_slots');
    const e = await kv.get(runId);
    return e && e.length > 0 ? (jc.decode(e.value) as { state: string }).state : undefined;
  };

  /** The slot's claim is held (not done) and its job.requested is stored and folded, as the first attempt left it. */
  async function firstAttemptLeftBehind(job: string, slot: number, msgId?: string): Promise<string> {
    const runId = `${job}.${slot / 1000}`;
    const kv = await h.nc.jetstream().views.kv('vigil_slots');
    await kv.create(runId, jc.encode({ state: 'claimed', by: 'replica-whose-attempt-failed' }));
    const data: JobRun = { runId, job, attempt: 1, trigger: 'schedule', scheduledAt: iso(slot), status: 'requested' };
    await h.bus.publish(`job.requested.${job}`, data, { msgId: msgId ?? runId, time: new Date(slot) });
    await waitFor(async () => (await h.api('GET', `/api/jobs/${job}`)).body.currentRunId === runId);
    return runId;
  }

  /** The slot falls; the claim is taken, so the scheduler comes back after the grace (1.5 s) and takes over. */
  async function takeOver(slot: number, runId: string): Promise<void> {
    await h.clock.set(slot);
    await waitFor(() => h.clock.nextTimerAt() === slot + 1_500);
    await h.clock.set(slot + 1_500);
    await waitFor(async () => (await slotState(runId)) === 'done');
  }

  it('forbid: no job.skipped for its own run; the run keeps its start watchdog', async () => {
    const slot = at('2026-01-01T06:00:00Z');
    const runId = await firstAttemptLeftBehind('fb', slot);
    await takeOver(slot, runId);
    // the run is still watched: never started -> missed at its start deadline
    await h.clock.set(slot + 60_000);
    const [missed] = await h.events.waitFor('job.missed.fb');
    expect(missed.event.data).toMatchObject({ runId, status: 'missed' });
    expect(h.events.of('job.skipped.fb')).toHaveLength(0);
    await waitFor(async () => (await h.api('GET', `/api/runs/${runId}`)).body.status === 'missed');
    expect(h.events.of('job.skipped.fb')).toHaveLength(0);
    // and the stream holds one job.requested for the slot
    const jsm = await h.nc.jetstreamManager();
    const info = await jsm.streams.info('VIGIL_JOBS', { subjects_filter: 'job.requested.fb' });
    expect(info.state.subjects).toEqual({ 'job.requested.fb': 1 });
  });

  it('replace: no job.cancel for its own run', async () => {
    const slot = at('2026-01-01T07:00:00Z');
    const runId = await firstAttemptLeftBehind('rp', slot);
    await takeOver(slot, runId);
    await h.clock.set(slot + 60_000);
    const [missed] = await h.events.waitFor('job.missed.rp');
    expect(missed.event.data).toMatchObject({ runId, status: 'missed' });
    expect(h.events.of('job.cancel.rp')).toHaveLength(0);
    expect(h.events.of('job.skipped.rp')).toHaveLength(0);
  });

  it('after the duplicate window: the take-over does not store the run again (it would execute twice)', async () => {
    const slot = at('2026-01-01T08:00:00Z');
    // stored under another msg id: as after the 2-minute window, the stream would keep a second copy
    const runId = await firstAttemptLeftBehind('late', slot, 'stored-long-ago');
    await takeOver(slot, runId);
    const jsm = await h.nc.jetstreamManager();
    const info = await jsm.streams.info('VIGIL_JOBS', { subjects_filter: 'job.requested.late' });
    expect(info.state.subjects).toEqual({ 'job.requested.late': 1 });
    expect((await h.api('GET', '/api/jobs/late')).body.currentRunId).toBe(runId);
  });
});
