import {
  makeEnvelope,
  MAX_TRIGGER_REASON_LENGTH,
  MAX_TRIGGER_REQUESTED_BY_LENGTH,
  MAX_TRIGGER_TARGET_LENGTH,
  MAX_TRIGGER_TARGETS,
} from '@vigil/shared';
import { collectEvents, type EventCollector, waitFor } from '@vigil/shared/testing';
import { JSONCodec } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

const JOBS = `jobs:
  daily-reports:
    schedule: "0 6 * * *"
    handler: report.daily
    targets: [acme, globex, initech]
  heartbeat:
    handler: health.daily
    concurrency: forbid
  beacon:
    handler: health.daily
    concurrency: forbid
  lighthouse:
    handler: health.daily
    concurrency: forbid
  bounded:
    handler: health.daily
    targets: [acme]
`;

const jc = JSONCodec();

/**
 * One trigger, checked the same on every way in: HTTP, the CLI's NATS request and a `job.trigger` event from any
 * publisher (which cannot be answered 400: it is dead-lettered as a validation error instead, never run to fail).
 * And a trigger's `id` is its idempotency key: whatever way the same id comes again, the job runs once.
 */
describe('manual triggers: one target check for every way in; the id runs once', () => {
  let h: Harness;
  let dlq: EventCollector;
  beforeAll(async () => {
    h = await startHarness(JOBS, '2026-03-01T10:00:30Z');
    dlq = collectEvents(h.nc, 'dlq.>');
  });
  afterAll(async () => {
    dlq?.stop();
    await h?.stop();
  });

  /** The CLI's way in: `scheduler.trigger` on the scheduler's NATS service. */
  const request = async (body: Record<string, unknown>) => {
    const m = await h.nc.request('scheduler.trigger', jc.encode(body), { timeout: 5_000 });
    return {
      status: Number(m.headers?.get('Nats-Service-Error-Code') || 200),
      body: jc.decode(m.data) as { runId?: string; duplicate?: boolean; error?: { code: string; message: string } },
    };
  };
  const requested = (job: string, runId: string) =>
    h.events.of(`job.requested.${job}`).filter((e) => e.event.data.runId === runId);
  /** Resolves once the scheduler's trigger consumer has handled (acked) every trigger up to stream seq `seq`. */
  const triggersHandled = async (seq: number) => {
    const jsm = await h.nc.jetstreamManager();
    await waitFor(async () => {
      const info = await jsm.consumers.info('VIGIL_JOBS', 'scheduler-triggers');
      return info.ack_floor.stream_seq >= seq && info.num_ack_pending === 0;
    });
  };

  it('a target the job does not list: 400 over HTTP and NATS, dead-lettered as validation from an event', async () => {
    const message = `targets: "umbrella" not in job daily-reports's targets (acme, globex, initech)`;
    const http = await h.api('POST', '/api/jobs/daily-reports/trigger', { reason: 'x', targets: ['umbrella'] });
    expect(http).toMatchObject({ status: 400, body: { error: { code: 'VIGIL_E_VALIDATION', message } } });
    const nats = await request({ job: 'daily-reports', reason: 'x', targets: ['umbrella'] });
    expect(nats).toMatchObject({ status: 400, body: { error: { code: 'VIGIL_E_VALIDATION', message } } });

    const id = '01JTRIGGERUMBRELLA00000000';
    await h.bus.publish('job.trigger.daily-reports', { reason: 'x', targets: ['umbrella'] }, { id });
    const [dead] = await dlq.waitFor('dlq.job.trigger.daily-reports');
    expect(dead.headers['Vigil-Error-Class']).toBe('validation');
    expect(dead.headers['Vigil-Error']).toContain(message);
    expect(dead.event).toMatchObject({ id, data: { targets: ['umbrella'] } });
    // dead-lettered, so handled: no run was requested, none is recorded (nothing to fail and page someone later)
    expect(requested('daily-reports', id)).toHaveLength(0);
    expect((await h.api('GET', `/api/runs/${id}`)).status).toBe(404);

    // its own targets still go through every way
    const ok = await h.api('POST', '/api/jobs/daily-reports/trigger', { reason: 'x', targets: ['acme', 'initech'] });
    expect(ok.status).toBe(202);
    await waitFor(() => requested('daily-reports', ok.body.runId)[0]);
  });

  it('a 500 KB reason (or requestedBy, too many or too long targets): 400 naming the field and bound, dead-lettered as an event', async () => {
    // each copy of the reason goes into every job.* event of the run, its KV record and emails: near max_payload
    const huge = 'x'.repeat(500_000);
    const reasonMessage = `reason: must be at most ${MAX_TRIGGER_REASON_LENGTH} characters (got 500000)`;
    const http = await h.api('POST', '/api/jobs/bounded/trigger', { reason: huge });
    expect(http).toMatchObject({
      status: 400,
      body: { error: { code: 'VIGIL_E_VALIDATION', message: reasonMessage } },
    });
    const nats = await request({ job: 'bounded', reason: huge });
    expect(nats).toMatchObject({
      status: 400,
      body: { error: { code: 'VIGIL_E_VALIDATION', message: reasonMessage } },
    });
    // at the bound it is fine (its target check still applies: the job lists acme)
    const atBound = await h.api('POST', '/api/jobs/bounded/trigger', {
      reason: 'r'.repeat(MAX_TRIGGER_REASON_LENGTH),
      requestedBy: 'b'.repeat(MAX_TRIGGER_REQUESTED_BY_LENGTH),
      targets: ['acme'],
    });
    expect(atBound.status).toBe(202);
    await waitFor(() => requested('bounded', atBound.body.runId)[0]);

    const requestedBy = await h.api('POST', '/api/jobs/bounded/trigger', { reason: 'x', requestedBy: 'b'.repeat(201) });
    expect(requestedBy.status).toBe(400);
    expect(requestedBy.body.error.message).toBe(
      `requestedBy: must be at most ${MAX_TRIGGER_REQUESTED_BY_LENGTH} characters (got 201)`,
    );
    const many = await h.api('POST', '/api/jobs/bounded/trigger', {
      reason: 'x',
      targets: Array.from({ length: MAX_TRIGGER_TARGETS + 1 }, () => 'acme'),
    });
    expect(many.status).toBe(400);
    expect(many.body.error.message).toMatch(
      new RegExp(`^targets: at most ${MAX_TRIGGER_TARGETS} targets per trigger \\(got ${MAX_TRIGGER_TARGETS + 1}\\)`),
    );
    const long = await h.api('POST', '/api/jobs/bounded/trigger', { reason: 'x', targets: ['acme', 't'.repeat(300)] });
    expect(long.status).toBe(400);
    expect(long.body.error.message).toBe(
      `targets.1: must be at most ${MAX_TRIGGER_TARGET_LENGTH} characters (got 300)`,
    );

    // a raw event from any publisher (not through an EventBus, which now refuses to publish it): dead-lettered
    const id = '01JTRIGGERHUGEREASON000000';
    const event = { ...makeEnvelope('test', 'job.trigger.bounded', { reason: huge }), id };
    await h.nc.jetstream().publish('job.trigger.bounded', jc.encode(event), { msgID: id });
    const [dead] = await dlq.waitFor('dlq.job.trigger.bounded');
    expect(dead.headers['Vigil-Error-Class']).toBe('validation');
    expect(dead.headers['Vigil-Error']).toContain(reasonMessage);
    expect(dead.event).toMatchObject({ id });
    expect(requested('bounded', id)).toHaveLength(0);
    expect((await h.api('GET', `/api/runs/${id}`)).status).toBe(404);
    // and no run was requested for any refused request: only the one at the bound
    expect(h.events.of('job.requested.bounded')).toHaveLength(1);
  });

  it('targets for a job that has none: refused (400 / dead letter), no invented coverage', async () => {
    const message = `targets: job heartbeat has no targets (none in the jobs file), so "acme" cannot be picked; trigger it without targets`;
    const http = await h.api('POST', '/api/jobs/heartbeat/trigger', { reason: 'x', targets: ['acme'] });
    expect(http).toMatchObject({ status: 400, body: { error: { code: 'VIGIL_E_VALIDATION', message } } });
    const nats = await request({ job: 'heartbeat', reason: 'x', targets: ['acme'] });
    expect(nats).toMatchObject({ status: 400, body: { error: { code: 'VIGIL_E_VALIDATION', message } } });

    const id = '01JTRIGGERNOTARGETS0000000';
    await h.bus.publish('job.trigger.heartbeat', { reason: 'x', targets: ['acme'] }, { id });
    const [dead] = await dlq.waitFor('dlq.job.trigger.heartbeat');
    expect(dead.headers['Vigil-Error-Class']).toBe('validation');
    expect(dead.headers['Vigil-Error']).toContain(message);
    expect(requested('heartbeat', id)).toHaveLength(0);
    expect(h.events.of('job.requested.heartbeat')).toHaveLength(0);
  });

  it('the same id again is the same run: 202 with that runId, never a second run nor a 409 (forbid)', async () => {
    const id = '01JTRIGGERSAMEID0000000000';
    const first = await h.api('POST', '/api/jobs/heartbeat/trigger', { reason: 'first', id });
    expect(first).toMatchObject({ status: 202, body: { runId: id } });
    await waitFor(async () => (await h.api('GET', '/api/jobs/heartbeat')).body.currentRunId === id);
    // the caller did not see the answer and asks again, over HTTP or NATS: the run it started, not a refusal
    const again = await h.api('POST', '/api/jobs/heartbeat/trigger', { reason: 'first', id });
    expect(again).toMatchObject({ status: 202, body: { runId: id, duplicate: true } });
    expect(await request({ job: 'heartbeat', reason: 'first', id })).toMatchObject({
      status: 200,
      body: { runId: id, duplicate: true },
    });
    // a new trigger (another id) is refused as before: the job is running
    expect((await h.api('POST', '/api/jobs/heartbeat/trigger', { reason: 'other' })).status).toBe(409);
    expect(requested('heartbeat', id)).toHaveLength(1);
    expect(h.events.of('job.trigger.heartbeat').filter((e) => e.event.id === id)).toHaveLength(1);
    expect(h.events.of('job.skipped.heartbeat')).toHaveLength(0);

    // the id of another job's run: a clear 409, not that run and not a new one
    const other = await h.api('POST', '/api/jobs/beacon/trigger', { reason: 'x', id });
    expect(other).toMatchObject({ status: 409, body: { error: { code: 'VIGIL_E_CONFLICT' } } });
    expect(other.body.error.message).toContain('already names a run of job heartbeat');
    // an id that cannot be a runId is a 400
    const bad = await h.api('POST', '/api/jobs/beacon/trigger', { reason: 'x', id: 'not a run id' });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'VIGIL_E_VALIDATION' } } });
    expect(bad.body.error.message).toMatch(/^id: /);
  });

  it('queued first (`vigil trigger --queue --id`), then the stale request with that id: one run', async () => {
    const id = '01JTRIGGERQUEUEDFIRST00000';
    // what `vigil trigger --queue --id` publishes
    await h.bus.publish('job.trigger.beacon', { reason: 'queued', requestedBy: 'cli:ops' }, { id });
    await waitFor(() => requested('beacon', id)[0]);
    // the request the frozen scheduler had not answered, handled now: that run, not a second one nor a skip
    expect(await request({ job: 'beacon', reason: 'queued', requestedBy: 'cli:ops', id })).toMatchObject({
      status: 200,
      body: { runId: id, duplicate: true },
    });
    expect(h.events.of('job.trigger.beacon')).toHaveLength(1);
    expect(requested('beacon', id)).toHaveLength(1);
    expect(h.events.of('job.skipped.beacon')).toHaveLength(0);
  });

  it('the request first, the queued trigger with that id later (even past the stream de-dup window): one run', async () => {
    const id = '01JTRIGGERREQUESTFIRST0000';
    expect(await request({ job: 'lighthouse', reason: 'asked', id })).toMatchObject({
      status: 200,
      body: { runId: id },
    });
    await waitFor(async () => (await h.api('GET', `/api/runs/${id}`)).status === 200);
    // the queued copy: within 2 minutes the stream drops it (same msg-id); later it reaches the consumer
    const ack = await h.bus.publish('job.trigger.lighthouse', { reason: 'asked' }, { id });
    expect(ack.duplicate).toBe(true);
    const late = await h.bus.publish(
      'job.trigger.lighthouse',
      { reason: 'asked' },
      { id, msgId: `${id}-after-the-window` },
    );
    expect(late.duplicate).toBe(false);
    await triggersHandled(late.seq);
    expect(requested('lighthouse', id)).toHaveLength(1);
    expect(h.events.of('job.skipped.lighthouse')).toHaveLength(0);
  });
});
