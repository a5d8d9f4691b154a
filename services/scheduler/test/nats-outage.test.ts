import { ManualClock } from '@vigil/shared';
import { apiClient, waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness, TOKEN } from './harness.js';

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

/**
 * NATS away from before a slot until after its start deadline: the slot could never be requested. It must not
 * vanish: once the broker is back the scheduler reports it (`job.missed`, said once however many replicas say
 * it), records it as missed, does not run it late, and the schedule goes on. A job with a `catchUp` window is
 * settled as catch-up settles slots missed while no scheduler ran: the slot runs once, as `catch-up`.
 */
const DEADLINE_JOBS = `jobs:
  tock:
    every: 1m
    handler: health.daily
    concurrency: allow
    startDeadline: 30s
`;
const iso = (ms: number) => new Date(ms).toISOString();
const S1 = at('2026-01-01T00:01:00Z');
const S2 = at('2026-01-01T00:02:00Z');
const CATCH_UP_JOB = `  tock-cu:
    every: 1m
    handler: health.daily
    concurrency: allow
    startDeadline: 30s
    catchUp: 10m
`;
const runOf = (slot: number, job = 'tock') => `${job}.${slot / 1000}`;

/** What the stream stored on `subject` (de-duplicated by Nats-Msg-Id), not what was sent on the wire. */
async function stored(h: Harness, subject: string) {
  const jsm = await h.nc.jetstreamManager();
  const info = await jsm.streams.info('VIGIL_JOBS');
  const out: { msgId: string | undefined; data: any }[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage('VIGIL_JOBS', { seq }).catch(() => undefined);
    if (m?.subject !== subject) continue;
    out.push({ msgId: m.header?.get('Nats-Msg-Id'), data: (m.json() as { data: unknown }).data });
  }
  return out;
}

/** The broker goes away, the slot falls, its start deadline passes; resolves once `replicas` schedulers gave up requesting it. */
async function slotFallsWhileDown(h: Harness, slot: number, replicas = 1, jobs = ['tock']): Promise<void> {
  await h.nats.kill();
  await h.clock.set(slot); // its publish fails: the broker is away
  await h.clock.set(slot + 31_000); // past the start deadline (30s) while it still is
  const gaveUp = (job: string) =>
    new Set(h.logs.filter((l) => l.job === job && /^slot could not be published/.test(l.msg)).map((l) => l.scheduler));
  await waitFor(() => jobs.every((job) => gaveUp(job).size >= replicas), {
    timeout: 40_000,
    message: 'the scheduler gave up requesting the slot',
  });
}

const ready = (url: string) => async () => (await fetch(`${url}/health/ready`)).status === 200;

describe('NATS away past a slot’s start deadline, one scheduler', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(DEADLINE_JOBS + CATCH_UP_JOB, '2026-01-01T00:00:30Z');
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('reports the slot missed once the broker is back, records it, and requests the next slot normally', async () => {
    await slotFallsWhileDown(h, S1, 1, ['tock', 'tock-cu']);
    await h.nats.start();
    await waitFor(ready(h.service.url), { timeout: 20_000, message: 'scheduler reconnected' });
    // the scheduler retries on the manual clock: move it a second at a time until the stream holds the verdict
    await waitFor(
      async () => {
        if ((await stored(h, 'job.missed.tock')).length > 0 && (await stored(h, 'job.requested.tock-cu')).length > 0)
          return true;
        await h.clock.advance(1_000);
        return false;
      },
      { timeout: 20_000, interval: 100, message: 'job.missed stored' },
    );
    const run = await waitFor(async () => {
      const r = await h.api('GET', `/api/runs/${runOf(S1)}`);
      return r.status === 200 && r.body.status === 'missed' ? r.body : undefined;
    }, 20_000);
    expect(h.clock.now()).toBeLessThan(S2);
    expect(run).toMatchObject({
      runId: runOf(S1),
      job: 'tock',
      status: 'missed',
      trigger: 'schedule',
      scheduledAt: iso(S1),
    });
    expect(run.reason).toMatch(
      /^could not be requested before its start deadline \(30s\): NATS was unavailable from 2026-01-01T00:01:00\.000Z until 2026-01-01T00:01:\d\d\.\d{3}Z \(\d+ s\)$/,
    );
    const missed = await stored(h, 'job.missed.tock');
    expect(missed).toHaveLength(1);
    expect(missed[0].msgId).toBe(`missed.${runOf(S1)}`);
    expect(missed[0].data).toMatchObject({
      runId: runOf(S1),
      job: 'tock',
      status: 'missed',
      trigger: 'schedule',
      scheduledAt: iso(S1),
      reason: run.reason,
    });
    const listed = await h.api('GET', '/api/runs?job=tock&status=missed');
    expect(listed.body.runs.map((r: { runId: string }) => r.runId)).toEqual([runOf(S1)]);
    // not run late: its start deadline had passed
    expect(await stored(h, 'job.requested.tock')).toHaveLength(0);
    // ... unless the job's catchUp window says so, as for a slot missed while no scheduler ran
    const caughtUp = await stored(h, 'job.requested.tock-cu');
    expect(caughtUp).toHaveLength(1);
    expect(caughtUp[0].data).toMatchObject({ runId: runOf(S1, 'tock-cu'), trigger: 'catch-up', scheduledAt: iso(S1) });
    expect(caughtUp[0].data.reason).toMatch(
      /^not requested at its slot: NATS was unavailable from 2026-01-01T00:01:00\.000Z until 2026-01-01T00:01:\d\d\.\d{3}Z \(\d+ s\)$/,
    );
    expect(await stored(h, 'job.missed.tock-cu')).toHaveLength(0);

    // the next slot is requested as usual, on time
    await h.clock.set(S2);
    const [req] = await h.events.waitFor('job.requested.tock');
    expect(req.event.data).toMatchObject({ runId: runOf(S2), trigger: 'schedule', scheduledAt: iso(S2) });
    expect(req.event.time).toBe(iso(S2));
    await waitFor(async () => (await h.api('GET', '/api/jobs/tock')).body.lastSlotAt === iso(S2));
    expect((await stored(h, 'job.requested.tock')).map((m) => m.data.runId)).toEqual([runOf(S2)]);
    expect(await stored(h, 'job.missed.tock')).toHaveLength(1);
    await waitFor(async () => (await stored(h, 'job.requested.tock-cu')).length === 2);
    expect((await stored(h, 'job.requested.tock-cu')).map((m) => [m.data.runId, m.data.trigger])).toEqual([
      [runOf(S1, 'tock-cu'), 'catch-up'],
      [runOf(S2, 'tock-cu'), 'schedule'],
    ]);
  }, 90_000);
});

describe('NATS away past a slot’s start deadline, two schedulers', () => {
  let h: Harness;
  let second: Awaited<ReturnType<Harness['startScheduler']>> | undefined;
  beforeAll(async () => {
    h = await startHarness(DEADLINE_JOBS, '2026-01-01T00:00:30Z', { LOG_LEVEL: 'warn' });
    second = await h.startScheduler(h.clock); // the same time on both
  });
  afterAll(async () => {
    await second?.stop();
    await h?.stop();
  });

  it('both give up on the slot, both report it: the stream keeps one job.missed', async () => {
    await slotFallsWhileDown(h, S1, 2);
    await h.nats.start();
    for (const url of [h.service.url, second?.url ?? ''])
      await waitFor(ready(url), { timeout: 20_000, message: `${url} reconnected` });
    const settled = () =>
      new Set(
        h.logs.filter((l) => l.runId === runOf(S1) && /^slot reported missed/.test(l.msg)).map((l) => l.scheduler),
      );
    await waitFor(
      async () => {
        await h.clock.advance(1_000);
        return settled().size === 2;
      },
      { timeout: 20_000, interval: 100, message: 'both schedulers settled the slot' },
    );
    await waitFor(async () => (await h.api('GET', `/api/runs/${runOf(S1)}`)).body.status === 'missed');
    expect(await stored(h, 'job.missed.tock')).toHaveLength(1);
    expect(await stored(h, 'job.requested.tock')).toHaveLength(0);

    await h.clock.set(S2);
    await waitFor(async () => (await h.api('GET', `/api/runs/${runOf(S2)}`)).status === 200);
    expect((await stored(h, 'job.requested.tock')).map((m) => m.data.runId)).toEqual([runOf(S2)]);
    expect(await stored(h, 'job.missed.tock')).toHaveLength(1);
  }, 90_000);
});

describe('NATS away past a slot’s start deadline, the scheduler restarts before it is back', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(DEADLINE_JOBS, '2026-01-01T00:00:30Z');
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('the start-up catch-up reports the slot, once', async () => {
    const s0 = at('2026-01-01T00:01:00Z');
    const s1 = at('2026-01-01T00:02:00Z');
    await h.clock.set(s0);
    await waitFor(async () => (await h.api('GET', '/api/jobs/tock')).body.lastSlotAt === iso(s0));
    await slotFallsWhileDown(h, s1);
    await h.service.stop();
    // started again while the broker is still away: it waits for it, then catches up
    const later = new ManualClock(s1 + 45_000);
    const restarting = h.startScheduler(later);
    await h.nats.start();
    h.service = await restarting;
    const api = apiClient(h.service.url, TOKEN);
    const run = await waitFor(async () => {
      const r = await api('GET', `/api/runs/${runOf(s1)}`);
      return r.body.status === 'missed' ? r.body : undefined;
    });
    // the job has no catchUp window: the slot is past its start deadline, so catch-up reports it, as any
    // slot missed while no scheduler ran
    expect(run).toMatchObject({ trigger: 'schedule', scheduledAt: iso(s1) });
    expect(run.reason).toBe('scheduler was down and the job has no catchUp window');
    expect((await stored(h, 'job.requested.tock')).map((m) => m.data.runId)).toEqual([runOf(s0)]);
    await later.set(at('2026-01-01T00:03:00Z'));
    await waitFor(async () => (await api('GET', `/api/runs/tock.${at('2026-01-01T00:03:00Z') / 1000}`)).status === 200);
    // (the 00:01 run, requested but never started here, is missed too: by its watchdog)
    const missed = (await stored(h, 'job.missed.tock')).filter((m) => m.data.runId === runOf(s1));
    expect(missed).toHaveLength(1);
  }, 90_000);
});
