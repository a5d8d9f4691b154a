import { waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

/**
 * The broker frozen (SIGSTOP: its process stops, its sockets stay open) across many slots of a frequent job,
 * then running again. Seen live: a job every 5 s, nats-server stopped for 11 minutes: three catch-up runs, and
 * job.missed reports dated with whatever moment each slot's retry happened to be sent (some before the broker
 * was back: retries written to the frozen broker, or kept by nats.js while reconnecting, are stored once it
 * runs again). Expected: one catch-up run (the newest slot), every other slot of the outage one job.missed, all
 * naming the same outage window: from the first failed publish until NATS answered again; with or without a
 * `catchUp` window (the newest slot is still inside its start deadline when the broker is back).
 */
const JOBS = `jobs:
  tick:
    every: 5s
    handler: health.daily
    concurrency: allow
    startDeadline: 30s
  tock:
    every: 5s
    handler: health.daily
    concurrency: allow
    startDeadline: 30s
    catchUp: 1m
`;
const at = (s: string) => new Date(s).getTime();
const iso = (ms: number) => new Date(ms).toISOString();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the stream stored on `subject` (de-duplicated by Nats-Msg-Id), not what was sent on the wire. */
async function stored(h: Harness, subject: string) {
  const jsm = await h.nc.jetstreamManager();
  const info = await jsm.streams.info('VIGIL_JOBS');
  const out: any[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage('VIGIL_JOBS', { seq }).catch(() => undefined);
    if (m?.subject === subject) out.push((m.json() as { data: unknown }).data);
  }
  return out;
}

describe('a broker frozen across many slots (SIGSTOP, real NATS, manual clock)', () => {
  let h: Harness;
  let pid: number | undefined;
  beforeAll(async () => {
    h = await startHarness(JOBS, '2026-01-01T00:00:02Z', { LOG_LEVEL: 'warn' });
  });
  afterAll(async () => {
    if (pid) process.kill(pid, 'SIGCONT');
    await h?.stop();
  });

  it('settles the outage once: one catch-up run, every other slot job.missed, all with the same window', async () => {
    await h.clock.set(at('2026-01-01T00:00:05Z'));
    await waitFor(
      async () =>
        (await stored(h, 'job.requested.tock')).length === 1 && (await stored(h, 'job.requested.tick')).length === 1,
    );
    pid = h.nats.pid();
    if (!pid) throw new Error('nats-server has no pid');
    process.kill(pid, 'SIGSTOP');
    const first = at('2026-01-01T00:00:10Z');
    await h.clock.set(first); // its publish hangs, then fails
    await waitFor(() => h.logs.some((l) => /^slot publish failed/.test(l.msg)), {
      timeout: 30_000,
      message: 'the first slot of the freeze failed',
    });
    // 11 minutes of slots (every 5 s) while the broker stays frozen; real time passes too (probes time out)
    const frozenUntil = at('2026-01-01T00:11:00Z');
    while (h.clock.now() < frozenUntil) {
      await h.clock.advance(5_000);
      await sleep(20);
    }
    await sleep(3_000);
    process.kill(pid, 'SIGCONT');
    pid = undefined;
    // the broker runs again: keep the scheduler's clock moving until the newest slot of the outage is handled
    const handled = async (subject: string) =>
      (await stored(h, subject)).some(
        (d) => d.scheduledAt === iso(frozenUntil) && !/^not started/.test(d.reason ?? ''),
      );
    await waitFor(
      async () => {
        if ((await handled('job.requested.tick')) || (await handled('job.missed.tick'))) return true;
        await h.clock.advance(1_000);
        return false;
      },
      { timeout: 60_000, interval: 200, message: 'the outage was settled' },
    );
    // 20 s more of the scheduler's time, for anything still retrying
    for (let i = 0; i < 20; i++) {
      await h.clock.advance(1_000);
      await sleep(100);
    }
    const inOutage = (d: { scheduledAt: string }) => {
      const t = Date.parse(d.scheduledAt);
      return t >= first && t <= frozenUntil;
    };
    for (const job of ['tick', 'tock']) {
      const requested = (await stored(h, `job.requested.${job}`)).filter(inOutage);
      const caughtUp = requested.filter((r) => r.trigger === 'catch-up');
      expect(caughtUp, job).toHaveLength(1);
      // the newest slot of the outage runs: the last one before NATS answered
      expect(Date.parse(caughtUp[0].scheduledAt)).toBeGreaterThanOrEqual(frozenUntil - 5_000);
      // nothing of the outage ran as a late scheduled run (at most the first slot, whose publish was under way)
      const late = requested.filter((r) => r.trigger !== 'catch-up');
      expect(late.map((r) => r.scheduledAt)).toEqual(late.length ? [iso(first)] : []);

      // (a run requested late is reported by the start-deadline watchdog: no runner here)
      const missed = (await stored(h, `job.missed.${job}`)).filter(
        (m) => inOutage(m) && !/^not started/.test(m.reason),
      );
      // one window for the whole outage: from the first failed publish until NATS answered again
      const windows = new Set(missed.map((m) => /NATS was unavailable (from \S+ until \S+)/.exec(m.reason)?.[1]));
      expect([...windows], job).toHaveLength(1);
      const [window] = [...windows];
      // from the first publish that failed: the first slot's, or the one before it (its bookkeeping was under way)
      expect(window).toMatch(/^from 2026-01-01T00:00:(05|10)\.000Z until 2026-01-01T00:1\d:/);
      const until = Date.parse(String(window?.split(' until ')[1]));
      expect(until).toBeGreaterThanOrEqual(frozenUntil);
      expect(caughtUp[0].reason).toContain(`NATS was unavailable ${window}`);

      // every slot of the outage accounted for once: listed missed, summed up in the oldest's report, or run
      const slotsInOutage = (frozenUntil - first) / 5_000 + 1;
      const summed = missed.filter((m) => /older slots/.test(m.reason));
      expect(summed).toHaveLength(1);
      const olderCount = Number(/(\d+) older slots/.exec(summed[0].reason)?.[1]);
      const listed = missed.filter((m) => !/older slots/.test(m.reason));
      expect(new Set(missed.map((m) => m.runId)).size).toBe(missed.length);
      expect(listed.length + olderCount + caughtUp.length + late.length).toBe(slotsInOutage);
      expect(listed.length + caughtUp.length).toBe(100);
    }
  }, 240_000);
});
