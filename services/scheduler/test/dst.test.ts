import { waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

// 02:30 Berlin and 01:30 New York daily, run through both 2026 DST changes on a manual clock.
const JOBS = `jobs:
  berlin:
    schedule: "30 2 * * *"
    timezone: Europe/Berlin
    handler: health.daily
    concurrency: allow
  newyork:
    schedule: "30 1 * * *"
    timezone: America/New_York
    handler: health.daily
    concurrency: allow
`;
const at = (s: string) => new Date(s).getTime();

describe('DST end to end: one run per day through spring-forward and fall-back', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(JOBS, '2026-03-27T12:00:00Z');
  });
  afterAll(async () => {
    await h?.stop();
  });

  const slotsOf = (job: string) => h.events.of(`job.requested.${job}`).map((e) => e.event.data.scheduledAt as string);

  it('spring-forward: Berlin 29 Mar and New York 8 Mar each run once', async () => {
    // walk day by day (the schedule is re-armed after every slot)
    for (let d = at('2026-03-28T00:00:00Z'); d <= at('2026-03-31T00:00:00Z'); d += 6 * 3_600_000) await h.clock.set(d);
    await waitFor(() => slotsOf('berlin').length >= 3);
    expect(slotsOf('berlin')).toEqual([
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:30:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
    expect(new Set(slotsOf('newyork')).size).toBe(slotsOf('newyork').length);
  });

  it('fall-back: Berlin 25 Oct and New York 1 Nov run once, not twice', async () => {
    for (let d = at('2026-10-24T00:00:00Z'); d <= at('2026-11-03T00:00:00Z'); d += 6 * 3_600_000) await h.clock.set(d);
    await waitFor(() => slotsOf('berlin').includes('2026-11-02T01:30:00.000Z'));
    const oct = slotsOf('berlin').filter((s) => s.startsWith('2026-10-25') || s.startsWith('2026-10-26'));
    expect(oct).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
    await waitFor(() => slotsOf('newyork').includes('2026-11-02T06:30:00.000Z'));
    const nov = slotsOf('newyork').filter((s) => s.startsWith('2026-11-01') || s.startsWith('2026-11-02'));
    expect(nov).toEqual(['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']);
  });
});
