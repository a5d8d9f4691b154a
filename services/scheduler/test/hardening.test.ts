import {
  headerValue,
  type JobRun,
  MAX_TRIGGER_DELAY_SECONDS,
  ManualClock,
  makeEnvelope,
  triggerRunId,
} from '@vigil/shared';
import { freePort, waitFor } from '@vigil/shared/testing';
import { headers as natsHeaders, JSONCodec } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schedulerConfigSchema } from '../src/config.js';
import { startSchedulerService } from '../src/service.js';
import { type Harness, startHarness } from './harness.js';

const DAY = 86_400_000;
const WEEK = 7 * DAY;
const iso = (ms: number) => new Date(ms).toISOString();
const jc = JSONCodec();

/** Node's setTimeout: a delay over 2^31-1 ms fires after 1 ms (TimeoutOverflowWarning). */
class NodeTimerClock extends ManualClock {
  override setTimeout(fn: () => void, ms: number) {
    return super.setTimeout(fn, ms > 2 ** 31 - 1 ? 1 : ms);
  }
}

const runOf = (h: Harness, runId: string) =>
  waitFor(async () => {
    const r = await h.api('GET', `/api/runs/${encodeURIComponent(runId)}`);
    return r.status === 200 ? r.body : undefined;
  });

describe('watchdogs with deadlines beyond setTimeout range (clock with Node timer overflow)', () => {
  const EVERY = 30 * DAY;
  const S = Math.ceil(new Date('2026-01-01T00:00:00Z').getTime() / EVERY) * EVERY;
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(
      `jobs:
  monthly:
    every: 30d
    handler: health.daily
    targets: [acme, globex]
    startDeadline: 4w
    timeout: 4w
    backup: { after: 4w }
  slow:
    handler: health.daily
    concurrency: allow
    startDeadline: 4w
`,
      iso(S - 10_000),
      { SCHEDULER_DEFAULT_TIMEOUT: '30d' },
      (ms) => new NodeTimerClock(ms),
    );
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('backup.after 4w requests the backup at 4w, with no false missed/stuck before', async () => {
    await h.clock.set(S);
    const runId = `monthly.${S / 1000}`;
    await waitFor(() => h.events.of('job.requested.monthly').find((e) => e.event.data.runId === runId));
    await runOf(h, runId);
    await h.clock.advance(60_000);
    await h.runner('failed', {
      runId,
      job: 'monthly',
      scheduledAt: iso(S),
      startedAt: iso(S + 1_000),
      failures: [{ target: 'acme', error: 'boom' }],
    });
    await waitFor(async () => (await runOf(h, runId)).status === 'failed');
    await h.clock.set(S + 4 * WEEK - 1_000);
    await h.clock.set(S + 4 * WEEK);
    const backup = await waitFor(() =>
      h.events.of('job.requested.monthly').find((e) => e.event.data.trigger === 'backup'),
    );
    expect(backup.event.data).toMatchObject({ runId: `${runId}.backup1`, targets: ['acme'] });
    expect(backup.event.time).toBe(iso(S + 4 * WEEK));
    expect(h.events.of('job.missed.monthly')).toHaveLength(0);
    expect(h.events.of('job.stuck.monthly')).toHaveLength(0);
  });

  it('startDeadline 4w and a 30d default timeout give their verdicts at those times, not at once', async () => {
    const t0 = h.clock.now();
    const a = await h.api('POST', '/api/jobs/slow/trigger', { reason: 'never starts' });
    const b = await h.api('POST', '/api/jobs/slow/trigger', { reason: 'starts, never ends' });
    expect([a.status, b.status]).toEqual([202, 202]);
    await runOf(h, a.body.runId);
    await runOf(h, b.body.runId);
    await h.runner('started', { runId: b.body.runId, job: 'slow', trigger: 'manual', startedAt: iso(t0) });
    await waitFor(async () => (await runOf(h, b.body.runId)).status === 'started');
    await h.clock.advance(60_000);
    await h.clock.set(t0 + 4 * WEEK);
    const [missed] = await h.events.waitFor('job.missed.slow');
    expect(missed.event.data.runId).toBe(a.body.runId);
    expect(missed.event.time).toBe(iso(t0 + 4 * WEEK));
    await h.clock.set(t0 + 30 * DAY);
    const [stuck] = await h.events.waitFor('job.stuck.slow');
    expect(stuck.event.data.runId).toBe(b.body.runId);
    expect(stuck.event.time).toBe(iso(t0 + 30 * DAY));
    expect(h.events.of('job.missed.slow')).toHaveLength(1);
  });
});

describe('scheduler API and consumers reject what is not theirs', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(
      `jobs:
  anyone:
    handler: health.daily
    concurrency: allow
`,
      '2026-03-01T10:00:00Z',
    );
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('job names are looked up as own entries only: Object.prototype names are 404', async () => {
    for (const name of ['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf']) {
      const get = await h.api('GET', `/api/jobs/${name}`);
      expect(get, name).toMatchObject({ status: 404, body: { error: { code: 'VIGIL_E_JOB_NOT_FOUND' } } });
      const trigger = await h.api('POST', `/api/jobs/${name}/trigger`, { reason: 'x' });
      expect(trigger, name).toMatchObject({ status: 404, body: { error: { code: 'VIGIL_E_JOB_NOT_FOUND' } } });
      expect((await h.api('POST', `/api/jobs/${name}/pause`)).status, name).toBe(404);
    }
    expect((await h.api('GET', '/api/jobs/anyone')).status).toBe(200);
    expect(h.events.of('job.trigger')).toHaveLength(0);
  });

  it(`delaySeconds above ${MAX_TRIGGER_DELAY_SECONDS} (6 days) is a 400; 6 days is accepted`, async () => {
    for (const delaySeconds of [MAX_TRIGGER_DELAY_SECONDS + 1, 30 * 86_400, 1e300]) {
      const r = await h.api('POST', '/api/jobs/anyone/trigger', { reason: 'later', delaySeconds });
      expect(r).toMatchObject({ status: 400, body: { error: { code: 'VIGIL_E_VALIDATION' } } });
      expect(r.body.error.message).toContain('delaySeconds: must be at most 518400 (6 days)');
    }
    expect(h.events.of('job.trigger')).toHaveLength(0);
    const ok = await h.api('POST', '/api/jobs/anyone/trigger', {
      reason: 'later',
      delaySeconds: MAX_TRIGGER_DELAY_SECONDS,
    });
    expect(ok.status).toBe(202);
    const req = await waitFor(() =>
      h.events.of('job.requested.anyone').find((e) => e.event.data.runId === ok.body.runId),
    );
    expect(req.event.data.notBefore).toBe(iso(h.clock.now() + 6 * DAY));
  });

  it('NATS API: a job name with a newline is a 404 with a clean error header, not a 500', async () => {
    for (const [subject, body] of [
      ['scheduler.job', { job: 'bad\nname' }],
      ['scheduler.trigger', { job: 'x\r\ny', reason: 'r' }],
    ] as const) {
      const msg = await h.nc.request(subject, jc.encode(body), { timeout: 5_000 });
      expect(msg.headers?.get('Nats-Service-Error-Code'), subject).toBe('404');
      expect(msg.headers?.get('Nats-Service-Error')).not.toMatch(/[\r\n]/);
      const answer = jc.decode(msg.data) as { error: { code: string; message: string } };
      expect(answer.error.code).toBe('VIGIL_E_JOB_NOT_FOUND');
      expect(answer.error.message).toBe(`no job named ${JSON.stringify(body.job)}`);
    }
    expect(headerValue('a\u0000b\u007fc\n\nd', 200)).toBe('a b c d');
    expect(headerValue('x'.repeat(500), 200)).toHaveLength(200);
  });

  it('a trigger event id that is no KV key becomes a hashed runId; the run is recorded and folded', async () => {
    for (const id of ['manual:42', 'run 1']) {
      await h.bus.publish('job.trigger.anyone', { reason: `external ${id}` }, { id });
      const runId = triggerRunId(id);
      expect(runId).toMatch(/^t-[0-9a-f]{40}$/);
      const req = await waitFor(() =>
        h.events.of('job.requested.anyone').find((e) => e.event.data.reason === `external ${id}`),
      );
      expect(req.event.data.runId).toBe(runId);
      await runOf(h, runId);
      await h.runner('started', { runId, job: 'anyone', trigger: 'manual', startedAt: iso(h.clock.now()) });
      await waitFor(async () => (await runOf(h, runId)).status === 'started');
    }
  });

  it('the job and the verb come from the NATS subject, not from the CloudEvent subject field', async () => {
    const js = h.nc.jetstream();
    const id = '01JTESTSUBJECT000000000000';
    const trigger = { ...makeEnvelope('test', 'job.trigger.nope', { reason: 'misleading subject' }), id };
    await js.publish('job.trigger.anyone', jc.encode(trigger), { msgID: id });
    const req = await waitFor(() => h.events.of('job.requested.anyone').find((e) => e.event.data.runId === id));
    expect(req.event.data.reason).toBe('misleading subject');
    await runOf(h, id);

    const data: JobRun = {
      runId: id,
      job: 'anyone',
      attempt: 1,
      trigger: 'manual',
      scheduledAt: req.event.data.scheduledAt,
      startedAt: iso(h.clock.now()),
      status: 'started',
    };
    const started = makeEnvelope('test', 'job.succeeded.anyone', data);
    const hdrs = natsHeaders();
    hdrs.set('Nats-Msg-Id', started.id);
    await js.publish('job.started.anyone', jc.encode(started), { msgID: started.id, headers: hdrs });
    const run = await waitFor(async () => {
      const r = await runOf(h, id);
      return r.status !== 'requested' ? r : undefined;
    });
    expect(run.status).toBe('started');
    expect(run.history.map((x: { status: string }) => x.status)).toEqual(['requested', 'started']);
  });
  it('a trigger sent again with the same event id after the duplicate window is not run again', async () => {
    const js = h.nc.jetstream();
    const jsm = await h.nc.jetstreamManager();
    const id = '01JTESTRESENTTRIGGER000000';
    const trigger = { ...makeEnvelope('test', 'job.trigger.anyone', { reason: 'sent twice' }), id };
    await js.publish('job.trigger.anyone', jc.encode(trigger), { msgID: id });
    await waitFor(() => h.events.of('job.requested.anyone').find((e) => e.event.data.runId === id));
    await runOf(h, id);
    // The publisher retries with its event id (its idempotency key) more than 2 minutes later: the stream's
    // duplicate window is over, so the stream stores the copy (here: another Nats-Msg-Id stands for that).
    const again = await js.publish('job.trigger.anyone', jc.encode(trigger), { msgID: `${id}.later` });
    expect(again.duplicate).toBe(false);
    await waitFor(async () => {
      const c = await jsm.consumers.info('VIGIL_JOBS', 'scheduler-triggers');
      return c.ack_floor.stream_seq >= again.seq && c.num_ack_pending === 0;
    });
    const requested = await jsm.streams.info('VIGIL_JOBS', { subjects_filter: 'job.requested.anyone' });
    const copies = h.events.of('job.requested.anyone').filter((e) => e.event.data.runId === id);
    expect(copies).toHaveLength(1);
    expect(requested.state.subjects?.['job.requested.anyone']).toBe(h.events.of('job.requested.anyone').length);
    expect(h.events.of('job.skipped.anyone').filter((e) => e.event.data.runId === id)).toHaveLength(0);
  });
});

describe('scheduler config', () => {
  const base = { NATS_URL: 'nats://127.0.0.1:4222' };
  it('default deadlines must be positive and at most 366d', () => {
    expect(schedulerConfigSchema.parse(base).SCHEDULER_DEFAULT_TIMEOUT).toBe(3_600_000);
    expect(schedulerConfigSchema.parse({ ...base, SCHEDULER_DEFAULT_TIMEOUT: '30d' }).SCHEDULER_DEFAULT_TIMEOUT).toBe(
      30 * DAY,
    );
    for (const bad of ['0', '367d', '200000000d']) {
      const r = schedulerConfigSchema.safeParse({
        ...base,
        SCHEDULER_DEFAULT_TIMEOUT: bad,
        SCHEDULER_START_DEADLINE: bad,
      });
      expect(r.success, bad).toBe(false);
      expect(r.error?.issues.map((i) => i.path[0]).sort()).toEqual([
        'SCHEDULER_DEFAULT_TIMEOUT',
        'SCHEDULER_START_DEADLINE',
      ]);
    }
  });

  it('a missing jobs file stops start-up at once with a config error, before NATS is dialled', async () => {
    const port = await freePort(); // nothing listens there: NATS is unreachable too
    const started = Date.now();
    const err = await startSchedulerService({
      env: {
        NATS_URL: `nats://127.0.0.1:${port}`,
        HTTP_PORT: '0',
        LOG_LEVEL: 'silent',
        VIGIL_JOBS_FILE: '/nope/jobs.yaml',
      },
      handleSignals: false,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'VIGIL_E_CONFIG' });
    expect((err as Error).message).toContain('jobs file /nope/jobs.yaml does not exist');
    // not the 30 s start-up timeout of a NATS that never answers
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
