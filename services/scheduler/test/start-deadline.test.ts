import { waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

const JOBS = `jobs:
  adhoc:
    handler: health.daily
    startDeadline: 1m
`;
const iso = (ms: number) => new Date(ms).toISOString();

/** A run requested later than its slot (here: a trigger that waited in the stream) gets its whole start deadline. */
describe('the start deadline counts from the request when that is later than the slot', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(JOBS, '2026-02-01T10:00:00Z');
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('a job.trigger stamped 10 min ago is missed 1 min after its request, not at once', async () => {
    const now = h.clock.now();
    await h.bus.publish(
      'job.trigger.adhoc',
      { reason: 'queued while the scheduler was away' },
      {
        time: new Date(now - 10 * 60_000),
      },
    );
    const req = await h.events.waitFor('job.requested.adhoc');
    const runId = req[0].event.data.runId as string;
    expect(req[0].event.data.scheduledAt).toBe(iso(now - 10 * 60_000));
    await waitFor(async () => (await h.api('GET', `/api/runs/${runId}`)).status === 200);

    await h.clock.set(now + 59_000);
    expect(h.events.of('job.missed.adhoc')).toHaveLength(0);
    await h.clock.set(now + 60_000);
    const [missed] = await h.events.waitFor('job.missed.adhoc');
    expect(missed.event.data).toMatchObject({ runId, reason: 'not started within 60s of its request' });
    expect(missed.event.time).toBe(iso(now + 60_000));
  });
});
