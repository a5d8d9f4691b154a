import { ManualClock } from '@vigil/shared';
import { waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

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
    // and the schedule goes on
    await later.set(at('2026-01-01T05:00:00Z'));
    await waitFor(() =>
      h.events.of('job.requested.hourly').find((e) => e.event.data.scheduledAt === '2026-01-01T05:00:00.000Z'),
    );
    expect(downMissed()).toHaveLength(2);
    // no runner in this test: the 01:00 run and the catch-up run are reported as never started
    const notStarted = h.events.of('job.missed.hourly').filter((m) => /not started/.test(m.event.data.reason));
    expect(notStarted.map((m) => m.event.data.scheduledAt).sort()).toEqual([
      '2026-01-01T01:00:00.000Z',
      '2026-01-01T04:00:00.000Z',
    ]);
  });
});
