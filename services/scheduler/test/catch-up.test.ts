import { ManualClock } from '@vigil/shared';
import { apiClient, waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness, TOKEN } from './harness.js';

const JOBS = `jobs:
  hourly:
    schedule: "0 * * * *"
    handler: health.daily
    catchUp: 50m
    startDeadline: 10m
`;
const at = (s: string) => new Date(s).getTime();

describe('catch-up after downtime (real NATS, manual clock)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(JOBS, '2026-01-01T00:59:00Z');
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('down over 3 slots with catchUp covering one: one catch-up run, two job.missed', async () => {
    await h.clock.set(at('2026-01-01T01:00:00Z'));
    await h.events.waitFor('job.requested.hourly');
    await waitFor(async () => (await h.api('GET', '/api/jobs/hourly')).body.lastSlotAt === '2026-01-01T01:00:00.000Z');
    await h.service.stop();

    // down through 02:00, 03:00 and 04:00; back at 04:20 — only 04:00 is within catchUp (50m)
    const later = new ManualClock(at('2026-01-01T04:20:00Z'));
    h.service = await h.startScheduler(later);
    const catchUp = await waitFor(() =>
      h.events.of('job.requested.hourly').find((e) => e.event.data.trigger === 'catch-up'),
    );
    expect(catchUp.event.data).toMatchObject({
      runId: `hourly.${at('2026-01-01T04:00:00Z') / 1000}`,
      scheduledAt: '2026-01-01T04:00:00.000Z',
    });
    const downMissed = () =>
      h.events.of('job.missed.hourly').filter((m) => /scheduler was down/.test(m.event.data.reason));
    const missed = await waitFor(() => (downMissed().length >= 2 ? downMissed() : undefined));
    expect(missed.map((m) => m.event.data.scheduledAt).sort()).toEqual([
      '2026-01-01T02:00:00.000Z',
      '2026-01-01T03:00:00.000Z',
    ]);
    expect(h.events.of('job.requested.hourly').filter((e) => e.event.data.trigger === 'catch-up')).toHaveLength(1);
    // no runner in this test: the 01:00 run is reported as never started at once (its deadline passed while
    // down); the catch-up run's start deadline (10m) counts from its request at 04:20, not from its old slot
    const notStarted = () => h.events.of('job.missed.hourly').filter((m) => /not started/.test(m.event.data.reason));
    const ofSlot = (slot: string) => notStarted().find((m) => m.event.data.scheduledAt === slot);
    await later.set(at('2026-01-01T04:29:59Z'));
    await waitFor(() => ofSlot('2026-01-01T01:00:00.000Z'));
    expect(ofSlot('2026-01-01T04:00:00.000Z')).toBeUndefined();
    await later.set(at('2026-01-01T04:30:00Z'));
    const lateMissed = await waitFor(() => ofSlot('2026-01-01T04:00:00.000Z'));
    expect(lateMissed.event.time).toBe('2026-01-01T04:30:00.000Z');
    expect(lateMissed.event.data.reason).toBe('not started within 600s of its request');
    // and the schedule goes on
    await later.set(at('2026-01-01T05:00:00Z'));
    await waitFor(() =>
      h.events.of('job.requested.hourly').find((e) => e.event.data.scheduledAt === '2026-01-01T05:00:00.000Z'),
    );
    expect(downMissed()).toHaveLength(2);
    expect(
      notStarted()
        .map((m) => m.event.data.scheduledAt)
        .sort(),
    ).toEqual(['2026-01-01T01:00:00.000Z', '2026-01-01T04:00:00.000Z']);
    expect(h.events.of('job.recovered.hourly')).toHaveLength(0);
  });
});

const DOWN_JOBS = `jobs:
  quiet:
    schedule: "0 * * * *"
    handler: health.daily
    catchUp: 50m
    startDeadline: 10m
    backup: { after: 1h }
  loud:
    schedule: "0 * * * *"
    handler: health.daily
    catchUp: 50m
    startDeadline: 10m
    backup: { after: 1h }
`;

describe('a 10 h outage: paused jobs stay quiet, missed slots bring no burst of backups', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(DOWN_JOBS, '2026-01-01T00:59:00Z');
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('one catch-up run and 9 job.missed for the running job, nothing for the paused one, one backup at most', async () => {
    expect((await h.api('POST', '/api/jobs/quiet/pause', { reason: 'maintenance' })).status).toBe(200);
    await waitFor(async () => (await h.api('GET', '/api/jobs/quiet')).body.paused === true);
    await h.clock.set(at('2026-01-01T01:00:00Z'));
    const first = `loud.${at('2026-01-01T01:00:00Z') / 1000}`;
    await h.events.waitFor('job.requested.loud');
    await waitFor(async () => (await h.api('GET', `/api/runs/${first}`)).status === 200);
    await h.runner('succeeded', { runId: first, job: 'loud', startedAt: '2026-01-01T01:00:01.000Z', durationMs: 5 });
    await waitFor(async () => (await h.api('GET', `/api/runs/${first}`)).body.status === 'succeeded');
    for (const job of ['quiet', 'loud'])
      await waitFor(
        async () => (await h.api('GET', `/api/jobs/${job}`)).body.lastSlotAt === '2026-01-01T01:00:00.000Z',
      );
    await h.service.stop();

    // down from 01:00 to 11:20: slots 02:00 ... 11:00; only 11:00 is within catchUp (50m)
    const later = new ManualClock(at('2026-01-01T11:20:00Z'));
    h.service = await h.startScheduler(later);
    const api = apiClient(h.service.url, TOKEN);
    const catchUp = await waitFor(() =>
      h.events.of('job.requested.loud').find((e) => e.event.data.trigger === 'catch-up'),
    );
    const catchUpId = `loud.${at('2026-01-01T11:00:00Z') / 1000}`;
    expect(catchUp.event.data.runId).toBe(catchUpId);
    const downMissed = (job: string) =>
      h.events.of(`job.missed.${job}`).filter((m) => /scheduler was down/.test(m.event.data.reason));
    await waitFor(() => downMissed('loud').length >= 9);
    await waitFor(async () => (await api('GET', '/api/jobs/quiet')).body.lastSlotAt === '2026-01-01T11:00:00.000Z');
    // a paused job's slots are skipped without a word, as they are while the scheduler runs
    expect(h.events.of('job.missed.quiet')).toHaveLength(0);
    expect(h.events.of('job.requested.quiet')).toHaveLength(0);

    // the catch-up run (never started here) is missed at 11:30; at 11:00 + 1h it is still queued (requested,
    // never started: a runner that comes back runs it), so no backup yet; the slots reported missed by catch-up
    // get none of their own
    await later.set(at('2026-01-01T11:30:00Z'));
    await waitFor(async () => (await api('GET', `/api/runs/${catchUpId}`)).body.status === 'missed');
    await later.set(at('2026-01-01T12:00:00Z'));
    await later.advance(1_000);
    const backups = () => h.events.of('job.requested.loud').filter((e) => e.event.data.trigger === 'backup');
    expect(backups()).toHaveLength(0);
    // the runner comes back, runs it late and it fails: the one backup follows at once
    await h.runner('failed', {
      runId: catchUpId,
      job: 'loud',
      trigger: 'catch-up',
      scheduledAt: '2026-01-01T11:00:00.000Z',
      startedAt: '2026-01-01T12:00:01.000Z',
    });
    await waitFor(async () => (await api('GET', `/api/runs/${catchUpId}`)).body.status === 'failed');
    // the watchdogs re-armed the backup check (due already): run what is due now
    await later.advance(0);
    const [backup] = await waitFor(() => (backups().length > 0 ? backups() : undefined));
    expect(backup.event.data.runId).toBe(`${catchUpId}.backup1`);
    expect(backup.event.time).toBe('2026-01-01T12:00:01.000Z');
    await later.advance(60_000);
    expect(backups()).toHaveLength(1);
    expect(downMissed('loud')).toHaveLength(9);
    expect(h.events.of('job.requested.quiet')).toHaveLength(0);
  });
});

const BUSY_JOBS = `jobs:
  pulse:
    schedule: "* * * * * *"
    timezone: Europe/Berlin
    handler: health.daily
    catchUp: 1m
`;

describe('a day-long outage of a per-second job: bounded catch-up, nothing dropped silently', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(BUSY_JOBS, '2026-01-01T00:00:00Z');
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('the newest slots one by one, one job.missed naming how many older slots did not run and when', async () => {
    await h.clock.set(at('2026-01-01T00:00:01Z'));
    await waitFor(async () => (await h.api('GET', '/api/jobs/pulse')).body.lastSlotAt === '2026-01-01T00:00:01.000Z');
    await h.service.stop();

    // back one day later: 86 400 slots in (00:00:01, 2 Jan 00:00:01)
    h.service = await h.startScheduler(new ManualClock(at('2026-01-02T00:00:01Z')));
    const catchUp = await waitFor(() =>
      h.events.of('job.requested.pulse').find((e) => e.event.data.trigger === 'catch-up'),
    );
    expect(catchUp.event.data.scheduledAt).toBe('2026-01-02T00:00:00.000Z');
    const downMissed = () =>
      h.events.of('job.missed.pulse').filter((m) => /scheduler was down/.test(m.event.data.reason));
    const missed = await waitFor(() => (downMissed().length >= 100 ? downMissed() : undefined));
    const summary = missed.filter((m) => /older slots/.test(m.event.data.reason));
    expect(summary).toHaveLength(1);
    const { data } = summary[0].event;
    expect(data.scheduledAt).toBe('2026-01-01T00:00:02.000Z');
    expect(data.reason).toMatch(
      /^scheduler was down; about (\d+) older slots from 2026-01-01T00:00:02\.000Z to before 2026-01-01T23:58:21\.000Z were not run \(not reported one by one: only the newest 100 are\)$/,
    );
    const count = Number(/about (\d+)/.exec(data.reason)?.[1]);
    expect(Math.abs(count - 86_300)).toBeLessThan(100);
    // the 99 newest slots besides the catch-up run, each reported on its own
    expect(missed.filter((m) => !/older slots/.test(m.event.data.reason))).toHaveLength(99);
    const api = apiClient(h.service.url, TOKEN);
    await waitFor(async () => (await api('GET', '/api/jobs/pulse')).body.lastSlotAt === '2026-01-02T00:00:00.000Z');
    expect(downMissed()).toHaveLength(100);
  });
});

describe('a scheduler process that was stalled (real NATS, manual clock)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(
      `jobs:
  minutely:
    schedule: "* * * * *"
    handler: health.daily
    startDeadline: 30s
  caught:
    schedule: "* * * * *"
    handler: health.daily
    startDeadline: 30s
    catchUp: 10m
`,
      '2026-01-01T00:00:30Z',
    );
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('settles the slots its late timers find as after downtime: missed, one catch-up run, never a late burst', async () => {
    // frozen from 00:00:30 to 00:03:40 (a paused VM, SIGSTOP): the 00:01, 00:02 and 00:03 timers fire late at once
    await h.clock.stall(190_000);
    const stalled = (job: string) =>
      h.events.of(`job.missed.${job}`).filter((m) => /scheduler was stalled/.test(m.event.data.reason));
    const missed = await waitFor(() => (stalled('minutely').length >= 3 ? stalled('minutely') : undefined));
    expect(missed.map((m) => m.event.data.scheduledAt).sort()).toEqual([
      '2026-01-01T00:01:00.000Z',
      '2026-01-01T00:02:00.000Z',
      '2026-01-01T00:03:00.000Z',
    ]);
    const catchUp = await waitFor(() =>
      h.events.of('job.requested.caught').find((e) => e.event.data.trigger === 'catch-up'),
    );
    expect(catchUp.event.data.scheduledAt).toBe('2026-01-01T00:03:00.000Z');
    await waitFor(() => (stalled('caught').length >= 2 ? true : undefined));
    // nothing ran late as a scheduled run, and the schedule goes on from now
    expect(h.events.of('job.requested.minutely')).toHaveLength(0);
    expect(h.events.of('job.requested.caught')).toHaveLength(1);
    await h.clock.set(at('2026-01-01T00:04:00Z'));
    const onTime = await waitFor(() => h.events.of('job.requested.minutely')[0]);
    expect(onTime.event.data).toMatchObject({ trigger: 'schedule', scheduledAt: '2026-01-01T00:04:00.000Z' });
  });
});
