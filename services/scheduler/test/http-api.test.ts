import { waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

const JOBS = `jobs:
  daily-reports:
    schedule: "0 6 * * *"
    timezone: America/New_York
    handler: report.daily
    targets: [acme, globex]
  exclusive:
    handler: health.daily
    concurrency: forbid
  swap:
    handler: health.daily
    concurrency: replace
  often:
    every: 1m
    handler: health.daily
    concurrency: allow
  anyone:
    handler: health.daily
`;

describe('scheduler HTTP API', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(JOBS, '2026-03-01T10:00:30Z');
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('lists jobs with next run in their own zone', async () => {
    const r = await h.api('GET', '/api/jobs', undefined, null);
    expect(r.status).toBe(200);
    const daily = r.body.jobs.find((j: { name: string }) => j.name === 'daily-reports');
    expect(daily).toMatchObject({ paused: false, nextRunAt: '2026-03-01T11:00:00.000Z', timezone: 'America/New_York' });
    expect((await h.api('GET', '/api/jobs/nope')).status).toBe(404);
  });

  it('401 without a token, 403 with a wrong one', async () => {
    const no = await h.api('POST', '/api/jobs/daily-reports/trigger', { reason: 'x' }, null);
    expect(no.status).toBe(401);
    const wrong = await h.api('POST', '/api/jobs/daily-reports/trigger', { reason: 'x' }, 'nope');
    expect(wrong.status).toBe(403);
    expect(h.events.of('job.trigger')).toHaveLength(0);
  });

  it('404 for an unknown job, 400 for a bad body (reason is required)', async () => {
    const unknown = await h.api('POST', '/api/jobs/nope/trigger', { reason: 'x' });
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'VIGIL_E_JOB_NOT_FOUND' } } });
    const bad = await h.api('POST', '/api/jobs/daily-reports/trigger', { targets: 'acme' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/reason/);
    // a target the job does not have: refused now, not accepted and then failed (and paged) by the runner
    const typo = await h.api('POST', '/api/jobs/daily-reports/trigger', { reason: 'x', targets: ['acme', 'acmee'] });
    expect(typo).toMatchObject({ status: 400, body: { error: { code: 'VIGIL_E_VALIDATION' } } });
    expect(typo.body.error.message).toBe(`targets: "acmee" not in job daily-reports's targets (acme, globex)`);
    // a misspelt field would run the whole job now instead of one target later: refused, naming it
    const field = await h.api('POST', '/api/jobs/daily-reports/trigger', { reason: 'x', target: ['acme'], delay: 600 });
    expect(field).toMatchObject({ status: 400, body: { error: { code: 'VIGIL_E_VALIDATION' } } });
    expect(field.body.error.message).toMatch(/^body: unknown fields "target", "delay" \(known: reason, .*targets/);
    expect(h.events.of('job.requested.daily-reports')).toHaveLength(0);
  });

  it('202 with the runId; job.requested carries it, the targets and notBefore for a delay', async () => {
    const r = await h.api('POST', '/api/jobs/daily-reports/trigger', {
      reason: 'acme missed its report',
      targets: ['acme'],
      delaySeconds: 600,
    });
    expect(r.status).toBe(202);
    const runId = r.body.runId as string;
    expect(runId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    const req = await waitFor(() =>
      h.events.of('job.requested.daily-reports').find((e) => e.event.data.runId === runId),
    );
    expect(req.event.data).toMatchObject({
      trigger: 'manual',
      reason: 'acme missed its report',
      targets: ['acme'],
      requestedBy: 'api',
      notBefore: new Date(h.clock.now() + 600_000).toISOString(),
    });
    expect(req.headers['Nats-Msg-Id']).toBe(`requested.${runId}`);
    const run = await waitFor(async () => {
      const x = await h.api('GET', `/api/runs/${runId}`);
      return x.status === 200 ? x.body : undefined;
    });
    expect(run).toMatchObject({ runId, job: 'daily-reports', status: 'requested', targets: ['acme'] });
    const list = await h.api('GET', '/api/runs?job=daily-reports&status=requested&limit=5');
    expect(list.body.runs.map((x: { runId: string }) => x.runId)).toContain(runId);
    const notANumber = await h.api('GET', '/api/runs?limit=abc');
    expect(notANumber.status).toBe(400);
    expect(notANumber.body.error.message).toContain('limit: must be a whole number from 1 to 1000');
    // a mistyped status is a 400 naming the valid ones, not an empty list that looks like "no failures"
    const typo = await h.api('GET', '/api/runs?status=faild');
    expect(typo).toMatchObject({ status: 400, body: { error: { code: 'VIGIL_E_VALIDATION' } } });
    expect(typo.body.error.message).toContain('status: must be one of requested, started, succeeded, failed');
    expect((await h.api('GET', '/api/runs/nope')).status).toBe(404);
    // a job name that is in neither the jobs file nor the history is a typo, not "no runs yet"
    const noJob = await h.api('GET', '/api/runs?job=daily-reprts');
    expect(noJob).toMatchObject({ status: 404, body: { error: { code: 'VIGIL_E_JOB_NOT_FOUND' } } });
    expect((await h.api('GET', '/api/runs?job=daily-reports')).status).toBe(200);
  });

  it('GET /api/runs exactly as the contract writes it: an empty parameter means "not given"', async () => {
    const r = await h.api('POST', '/api/jobs/anyone/trigger', { reason: 'empty params' });
    expect(r.status).toBe(202);
    await waitFor(async () => (await h.api('GET', `/api/runs/${r.body.runId}`)).status === 200);
    const all = await h.api('GET', '/api/runs');
    expect(all.status).toBe(200);
    const empty = await h.api('GET', '/api/runs?job=&status=&since=&limit=');
    expect(empty).toMatchObject({ status: 200, body: { runs: all.body.runs } });
    expect(empty.body.runs.map((x: { runId: string }) => x.runId)).toContain(r.body.runId);
    // one given, the others empty: only the given one filters
    const one = await h.api('GET', '/api/runs?job=anyone&status=&since=&limit=');
    expect(one.status).toBe(200);
    expect(one.body.runs.length).toBeGreaterThan(0);
    expect(one.body.runs.every((x: { job: string }) => x.job === 'anyone')).toBe(true);
    // a non-empty bad value is still a clear 400
    for (const bad of ['limit=0', 'limit=abc', 'since=yesterday', 'status=faild&job=']) {
      const res = await h.api('GET', `/api/runs?${bad}`);
      expect(res, bad).toMatchObject({ status: 400, body: { error: { code: 'VIGIL_E_VALIDATION' } } });
    }
  });

  it('409 while a forbid job runs, unless forced', async () => {
    const first = await h.api('POST', '/api/jobs/exclusive/trigger', { reason: 'one' });
    expect(first.status).toBe(202);
    await waitFor(async () => (await h.api('GET', '/api/jobs/exclusive')).body.currentRunId === first.body.runId);
    const second = await h.api('POST', '/api/jobs/exclusive/trigger', { reason: 'two' });
    expect(second).toMatchObject({ status: 409, body: { error: { code: 'VIGIL_E_JOB_ALREADY_RUNNING' } } });
    const forced = await h.api('POST', '/api/jobs/exclusive/trigger', { reason: 'three', force: true });
    expect(forced.status).toBe(202);
    const requested = await waitFor(() =>
      h.events.of('job.requested.exclusive').find((e) => e.event.data.runId === forced.body.runId),
    );
    // runners start a forced run beside the one holding the job, not behind it
    expect(requested.event.data.force).toBe(true);
    expect(
      h.events.of('job.requested.exclusive').find((e) => e.event.data.runId === first.body.runId)?.event.data.force,
    ).toBeUndefined();
  });

  it('replace cancels the running run before requesting the new one', async () => {
    const first = await h.api('POST', '/api/jobs/swap/trigger', { reason: 'one' });
    await waitFor(async () => (await h.api('GET', '/api/jobs/swap')).body.currentRunId === first.body.runId);
    const second = await h.api('POST', '/api/jobs/swap/trigger', { reason: 'two' });
    expect(second.status).toBe(202);
    const [cancel] = await h.events.waitFor('job.cancel.swap');
    expect(cancel.event.data).toMatchObject({ runId: first.body.runId, job: 'swap' });
    await waitFor(() => h.events.of('job.requested.swap').find((e) => e.event.data.runId === second.body.runId));
  });

  it('a paused job skips its slots and refuses unforced triggers; resume brings it back', async () => {
    const paused = await h.api('POST', '/api/jobs/often/pause', { reason: 'maintenance' });
    expect(paused).toMatchObject({ status: 200, body: { paused: true } });
    await waitFor(async () => (await h.api('GET', '/api/jobs/often')).body.paused === true);
    await h.clock.set(new Date('2026-03-01T10:03:00Z').getTime());
    expect(h.events.of('job.requested.often')).toHaveLength(0);
    expect((await h.api('POST', '/api/jobs/often/trigger', { reason: 'x' })).status).toBe(409);
    expect((await h.api('POST', '/api/jobs/often/trigger', { reason: 'x', force: true })).status).toBe(202);
    expect((await h.api('POST', '/api/jobs/often/resume')).status).toBe(200);
    await waitFor(async () => (await h.api('GET', '/api/jobs/often')).body.paused === false);
    await h.clock.set(new Date('2026-03-01T10:04:00Z').getTime());
    await waitFor(() => h.events.of('job.requested.often').find((e) => e.event.data.trigger === 'schedule'));
  });

  it('a trigger event from any publisher becomes a run whose runId is the event id', async () => {
    await h.bus.publish(
      'job.trigger.anyone',
      { reason: 'from another system', requestedBy: 'ops-bot' },
      { id: '01JTESTTRIGGER000000000000' },
    );
    const req = await waitFor(() =>
      h.events.of('job.requested.anyone').find((e) => e.event.data.runId === '01JTESTTRIGGER000000000000'),
    );
    expect(req.event.data).toMatchObject({ trigger: 'manual', requestedBy: 'ops-bot', reason: 'from another system' });
    // the job is now occupied (forbid): a second unforced trigger is refused out loud, not dropped
    await waitFor(
      async () => (await h.api('GET', '/api/jobs/anyone')).body.currentRunId === '01JTESTTRIGGER000000000000',
    );
    await h.bus.publish('job.trigger.anyone', { reason: 'again' }, { id: '01JTESTTRIGGER000000000001' });
    const [skipped] = await h.events.waitFor('job.skipped.anyone');
    expect(skipped.event.data).toMatchObject({ runId: '01JTESTTRIGGER000000000001', status: 'skipped' });
    // no runner took the first run: the reason says it is queued, not running
    expect(skipped.event.data.reason).toMatch(
      /run 01JTESTTRIGGER000000000000 is queued since .+ UTC and has not started/,
    );
  });
});
