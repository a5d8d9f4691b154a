import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNotifierService } from '../../src/service.js';
import { type Harness, notifierEnv, runData, startHarness } from './harness.js';

// An alert must not wait for ack-wait (60 s here) because the replica before this one went away.
describe('a notifier replaced by another emails the next failure at once', () => {
  let h: Harness;
  const started: Array<Awaited<ReturnType<typeof startNotifierService>>> = [];
  const start = async () => {
    const n = await startNotifierService({
      env: notifierEnv(h),
      handleSignals: false,
    });
    started.push(n);
    return n;
  };
  const emailTime = async (job: string, count: number) => {
    const t0 = Date.now();
    await h.bus.publish(`job.failed.${job}`, runData(job));
    const mails = await h.sink.waitForMessages(count, 10_000);
    expect(mails[count - 1].subject).toBe(`🚨 CRITICAL: ${job} failed — ConnectionError`);
    return Date.now() - t0;
  };

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    for (const n of started) await n.stop().catch(() => {});
    await h?.stop();
  });

  it('after a graceful stop, and after a replica whose NATS connection died without draining', async () => {
    expect(await emailTime('first-job', 1)).toBeLessThan(2_000);
    await h.notifier.stop();
    const b = await start();
    expect(await emailTime('second-job', 2)).toBeLessThan(2_000);

    await b.runtime.nc.close(); // no consumer stop, no drain: what kill -9 leaves behind
    await start();
    expect(await emailTime('third-job', 3)).toBeLessThan(2_000);
  }, 45_000);
});
