import { waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

const JOBS = `jobs:
  tick:
    every: 1m
    handler: health.daily
    concurrency: allow
`;
const at = (s: string) => new Date(s).getTime();

describe('NATS restarts while a slot falls due', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(JOBS, '2026-01-01T00:00:30Z');
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('the slot is still requested, once, when the broker is back', async () => {
    await h.nats.kill();
    await h.clock.set(at('2026-01-01T00:01:00Z'));
    await h.nats.start();
    const runId = `tick.${at('2026-01-01T00:01:00Z') / 1000}`;
    // the scheduler retries on the manual clock: keep time moving a little while it does
    await waitFor(
      async () => {
        await h.clock.advance(500);
        const r = await h.api('GET', `/api/runs/${runId}`);
        return r.status === 200;
      },
      { timeout: 20_000, interval: 200 },
    );
    const jsm = await h.nc.jetstreamManager();
    const info = await jsm.streams.info('VIGIL_JOBS', { subjects_filter: 'job.requested.>' });
    expect(info.state.subjects).toEqual({ 'job.requested.tick': 1 });
  }, 40_000);
});
