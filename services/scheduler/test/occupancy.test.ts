import { ManualClock } from '@vigil/shared';
import { waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

const at = (s: string) => new Date(s).getTime();
const slotId = (job: string, s: string) => `${job}.${at(s) / 1000}`;

const DELAY_JOBS = `jobs:
  nightly:
    schedule: "0 0 * * *"
    handler: health.daily
    concurrency: forbid
    startDeadline: 10m
    timeout: 6h
  swap:
    schedule: "0 0 * * *"
    handler: health.daily
    concurrency: replace
    startDeadline: 10m
    timeout: 6h
`;

/** `vigil trigger x --delay 6d`: the run waits 6 days; the job must not be held for those 6 days. */
describe('a delayed manual run occupies its job only from notBefore on', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(DELAY_JOBS, '2026-03-01T10:00:00Z');
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('forbid: slots run and triggers are accepted during the delay; from notBefore on the run blocks (409)', async () => {
    const delayed = await h.api('POST', '/api/jobs/nightly/trigger', { reason: 'later', delaySeconds: 518_400 });
    expect(delayed.status).toBe(202);
    const delayedId = delayed.body.runId as string;
    await waitFor(async () => (await h.api('GET', `/api/runs/${delayedId}`)).body.notBefore !== undefined);

    // the next slot runs: no job.skipped because of a run that starts in 6 days
    await h.clock.set(at('2026-03-02T00:00:00Z'));
    const slot = slotId('nightly', '2026-03-02T00:00:00Z');
    await waitFor(() => h.events.of('job.requested.nightly').find((e) => e.event.data.runId === slot));
    expect(h.events.of('job.skipped.nightly')).toHaveLength(0);
    await h.runner('succeeded', { runId: slot, job: 'nightly', durationMs: 5 });
    await waitFor(async () => (await h.api('GET', '/api/jobs/nightly')).body.lastRunId === slot);

    // a manual trigger is accepted too (no 409 naming the delayed run)
    const now = await h.api('POST', '/api/jobs/nightly/trigger', { reason: 'now' });
    expect(now.status).toBe(202);
    await waitFor(() => h.events.of('job.requested.nightly').find((e) => e.event.data.runId === now.body.runId));
    await h.runner('succeeded', { runId: now.body.runId, job: 'nightly', trigger: 'manual', durationMs: 5 });
    await waitFor(async () => (await h.api('GET', '/api/jobs/nightly')).body.lastRunId === now.body.runId);

    // from notBefore on, the delayed run holds the job (until it starts and ends, or misses its start deadline)
    await h.clock.set(at('2026-03-07T10:00:00Z'));
    const refused = await h.api('POST', '/api/jobs/nightly/trigger', { reason: 'while it runs' });
    expect(refused).toMatchObject({ status: 409, body: { error: { code: 'VIGIL_E_JOB_ALREADY_RUNNING' } } });
    expect(refused.body.error.message).toContain(delayedId);
  });

  it('replace: the next slot does not cancel a run still waiting for its notBefore', async () => {
    const delayed = await h.api('POST', '/api/jobs/swap/trigger', { reason: 'later', delaySeconds: 3 * 86_400 });
    expect(delayed.status).toBe(202);
    await waitFor(async () => (await h.api('GET', `/api/runs/${delayed.body.runId}`)).body.notBefore !== undefined);
    await h.clock.set(at('2026-03-08T00:00:00Z'));
    const slot = slotId('swap', '2026-03-08T00:00:00Z');
    await waitFor(() => h.events.of('job.requested.swap').find((e) => e.event.data.runId === slot));
    expect(h.events.of('job.cancel.swap').filter((e) => e.event.data.runId === delayed.body.runId)).toHaveLength(0);
  });
});

const GUARD_JOBS = `jobs:
  guard:
    schedule: "0 * * * *"
    handler: health.daily
    concurrency: forbid
    startDeadline: 10m
    timeout: 6h
`;

/** A forced run next to a running one: its end must not free the job while the first still runs. */
describe('forbid: the earliest active run stays the one occupying the job', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(GUARD_JOBS, '2026-01-01T00:59:00Z');
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('a forced manual run that ends leaves the running slot run in place; the next slot is skipped', async () => {
    await h.clock.set(at('2026-01-01T01:00:00Z'));
    const first = slotId('guard', '2026-01-01T01:00:00Z');
    await waitFor(() => h.events.of('job.requested.guard').find((e) => e.event.data.runId === first));
    await h.runner('started', { runId: first, job: 'guard', startedAt: '2026-01-01T01:00:01.000Z' });
    await waitFor(async () => (await h.api('GET', `/api/runs/${first}`)).body.status === 'started');

    const forced = await h.api('POST', '/api/jobs/guard/trigger', { reason: 'urgent', force: true });
    expect(forced.status).toBe(202);
    await waitFor(async () => (await h.api('GET', `/api/runs/${forced.body.runId}`)).status === 200);
    expect((await h.api('GET', '/api/jobs/guard')).body.currentRunId).toBe(first);
    await h.runner('succeeded', { runId: forced.body.runId, job: 'guard', trigger: 'manual', durationMs: 5 });
    await waitFor(async () => (await h.api('GET', '/api/jobs/guard')).body.lastRunId === forced.body.runId);
    expect((await h.api('GET', '/api/jobs/guard')).body.currentRunId).toBe(first);

    await h.clock.set(at('2026-01-01T02:00:00Z'));
    const [skipped] = await h.events.waitFor('job.skipped.guard');
    expect(skipped.event.data).toMatchObject({ runId: slotId('guard', '2026-01-01T02:00:00Z'), status: 'skipped' });
    expect(skipped.event.data.reason).toBe(`run ${first} is still running (concurrency forbid)`);
    expect(h.events.of('job.requested.guard').filter((e) => e.event.data.trigger === 'schedule')).toHaveLength(1);
  });
});

const BACKLOG_JOBS = `jobs:
  hourly:
    schedule: "0 * * * *"
    handler: health.daily
    concurrency: forbid
    catchUp: 50m
    startDeadline: 10m
    timeout: 6h
  busy:
    handler: health.daily
    concurrency: allow
`;

/** The run finished while no scheduler ran: catch-up must see that before deciding forbid. */
describe('catch-up waits for the history backlog', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(BACKLOG_JOBS, '2026-01-01T00:59:00Z');
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('a run that succeeded during the outage does not get the catch-up slot skipped', async () => {
    await h.clock.set(at('2026-01-01T01:00:00Z'));
    const first = slotId('hourly', '2026-01-01T01:00:00Z');
    await waitFor(() => h.events.of('job.requested.hourly').find((e) => e.event.data.runId === first));
    await h.runner('started', { runId: first, job: 'hourly', startedAt: '2026-01-01T01:00:01.000Z' });
    await waitFor(async () => (await h.api('GET', `/api/runs/${first}`)).body.status === 'started');
    await waitFor(async () => (await h.api('GET', '/api/jobs/hourly')).body.lastSlotAt === '2026-01-01T01:00:00.000Z');
    await h.service.stop();

    // while no scheduler runs, other runs end (a backlog to fold), then this one (it waits in the stream)
    for (let i = 0; i < 1_500; i += 100)
      await Promise.all(
        Array.from({ length: 100 }, (_, j) =>
          h.runner('succeeded', { runId: `busy-${i + j}`, job: 'busy', trigger: 'manual', durationMs: 1 }),
        ),
      );
    await h.runner('succeeded', {
      runId: first,
      job: 'hourly',
      startedAt: '2026-01-01T01:00:01.000Z',
      finishedAt: '2026-01-01T03:00:00.000Z',
      durationMs: 7_199_000,
    });
    h.service = await h.startScheduler(new ManualClock(at('2026-01-01T04:20:00Z')));
    const catchUpId = slotId('hourly', '2026-01-01T04:00:00Z');
    const outcome = await waitFor(() =>
      [...h.events.of('job.requested.hourly'), ...h.events.of('job.skipped.hourly')].find(
        (e) => e.event.data.runId === catchUpId,
      ),
    );
    expect(outcome.subject).toBe('job.requested.hourly');
    expect(outcome.event.data.trigger).toBe('catch-up');
    expect(h.events.of('job.skipped.hourly')).toHaveLength(0);
  });
});
