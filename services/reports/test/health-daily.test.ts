import type { JobDefinition, JobRun } from '@vigil/shared';
import { collectEvents, startNats, type TestServer } from '@vigil/shared/testing';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyseHealth } from '../src/health/health-analysis.js';
import { recommend } from '../src/health/recommendations.js';
import { startReportsService } from '../src/service.js';
import { jobsDir, requestRun } from './helpers.js';

const H = 60 * 60 * 1000;
const retries = { max: 0, backoff: 'exponential' as const, base: 1000, cap: 1000 };
const def = (name: string, extra: Partial<JobDefinition>): JobDefinition => ({
  name,
  timezone: 'UTC',
  handler: 'http',
  retries,
  concurrency: 'forbid',
  options: {},
  schedule: '0 6 * * *',
  ...extra,
});

/** A day of history: one target never delivered, a flaky hourly export that recovered after an hour. */
function seededHistory(now: number): JobRun[] {
  const run = (
    runId: string,
    job: string,
    hoursAgo: number,
    status: JobRun['status'],
    extra: Partial<JobRun> = {},
  ): JobRun => {
    const t = new Date(now - hoursAgo * H).toISOString();
    return {
      runId,
      job,
      attempt: 1,
      trigger: 'schedule',
      scheduledAt: t,
      startedAt: t,
      finishedAt: t,
      status,
      ...extra,
    };
  };
  const err = { type: 'TransientError', message: 'model unavailable', class: 'transient' as const };
  const runs: JobRun[] = [
    run('dr-1', 'daily-reports', 20, 'partial', { failures: [{ target: 'c', error: err }], error: undefined }),
    run('dr-2', 'daily-reports', 19, 'failed', {
      trigger: 'backup',
      targets: ['c'],
      error: err,
      failures: [{ target: 'c', error: err }],
    }),
    run('cl-1', 'cleanup', 18, 'succeeded'),
    run('old', 'cleanup', 30, 'failed', { error: err }),
  ];
  for (let i = 0; i < 10; i++) {
    const bad = i === 3 || i === 4;
    runs.push(
      run(
        `ex-${i}`,
        'export',
        12 - i,
        bad ? 'failed' : 'succeeded',
        bad ? { error: { type: 'HTTP_STATUS', message: 'HTTP 503', class: 'transient' } } : {},
      ),
    );
  }
  return runs;
}

const jobs = [
  def('daily-reports', { handler: 'report.daily', targets: ['a', 'b', 'c'] }),
  def('export', { schedule: undefined, every: H }),
  def('cleanup', { handler: 'command' }),
];

describe('health.daily analysis', () => {
  it('computes coverage per job and target, success rate, MTTR and concrete recommendations', () => {
    const now = Date.parse('2026-11-24T08:00:00Z');
    const report = analyseHealth({
      now,
      windowMs: 24 * H,
      runs: seededHistory(now),
      jobs,
      openBreakers: [{ service: 'reports', name: 'llm-gpt' }],
      dlqDepth: 3,
      secrets: [{ name: 'openai', stale: true, ageSeconds: 7200 }],
      components: [
        { service: 'reports', ready: true, instances: 2, failing: [] },
        { service: 'webhooks', ready: false, instances: 2, failing: ['redis'], error: '2 of 2 instance(s) not ready' },
      ],
    });
    const byJob = Object.fromEntries(report.jobs.map((j) => [j.job, j]));
    expect(byJob['daily-reports'].covered).toEqual(['a', 'b']);
    expect(byJob['daily-reports'].missing).toEqual(['c']);
    expect(byJob.export.successRate).toBeCloseTo(0.8);
    expect(byJob.export.mttrMinutes).toBeCloseTo(120); // failed at -9 h, next success at -7 h
    expect(byJob.cleanup.runs).toBe(1); // the 30 h old failure is outside the window
    expect(report.coverage).toBeCloseTo(4 / 5);
    expect(report.successRate).toBeCloseTo(9 / 13);

    const { severity, recommendations } = recommend(report);
    expect(severity).toBe('CRITICAL');
    const text = recommendations.join('\n');
    expect(text).toContain('vigil trigger daily-reports --target c');
    expect(text).toMatch(/export: success rate 80% \(8\/10\) is below 95%/);
    expect(text).toMatch(/export: mean time to recover 120 min exceeds 30 min/);
    expect(text).toContain('breaker reports/llm-gpt is open');
    expect(text).toContain('3 message(s) in the dead-letter queue');
    expect(text).toContain('secret openai is served stale');
    // seed 003: component health (Redis etc.), not only job history
    expect(text).toContain('webhooks: 2 of 2 instance(s) not ready — failing checks: redis');
    expect(text).not.toMatch(/^reports:/m);
  });

  it('is INFO when everything is covered and healthy', () => {
    const now = Date.parse('2026-11-24T08:00:00Z');
    const t = new Date(now - H).toISOString();
    const runs: JobRun[] = [
      {
        runId: 'x',
        job: 'cleanup',
        attempt: 1,
        trigger: 'schedule',
        scheduledAt: t,
        finishedAt: t,
        status: 'succeeded',
      },
    ];
    const report = analyseHealth({
      now,
      windowMs: 24 * H,
      runs,
      jobs: [jobs[2]],
      openBreakers: [],
      dlqDepth: 0,
      secrets: [],
    });
    expect(recommend(report).severity).toBe('INFO');
    expect(report.coverage).toBe(1);
  });

  it('a DLQ that could not be read is reported as unknown with a WARNING, never as empty', () => {
    const report = analyseHealth({
      now: Date.parse('2026-11-24T08:00:00Z'),
      windowMs: 24 * H,
      runs: [],
      jobs: [],
      openBreakers: [],
      dlqDepth: undefined,
      secrets: [],
    });
    const { severity, recommendations } = recommend(report);
    expect(severity).toBe('WARNING');
    expect(recommendations.join('\n')).toContain('dead-letter queue (VIGIL_DLQ) could not be read');
  });
});

describe('health.daily in the runner', () => {
  let nats: TestServer;
  let nc: NatsConnection;
  let service: Awaited<ReturnType<typeof startReportsService>>;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    const { file } = jobsDir(`jobs:
  daily-reports:
    schedule: "0 6 * * *"
    handler: report.daily
    targets: [a, b, c]
    report: { endpoint: "http://127.0.0.1:9/v1", models: [m] }
  export:
    every: 1h
    handler: http
    http: { url: "http://127.0.0.1:9/x" }
  cleanup:
    schedule: "0 6 * * *"
    handler: command
    command: { run: [node, -e, "0"] }
  health:
    # scheduled like a real one: its own (still running) run must not count as an uncovered job
    schedule: "0 7 * * *"
    handler: health.daily
    retries: { max: 0 }
    health: { recipients: [ops@example.com] }
`);
    service = await startReportsService({
      env: { NATS_URL: nats.url, VIGIL_JOBS_FILE: file, HTTP_PORT: '0', LOG_LEVEL: 'error' },
      handleSignals: false,
    });
  });

  afterAll(async () => {
    await service?.stop();
    await nc?.close();
    await nats?.stop();
  });

  it('reads vigil_runs and publishes notify.send with severity and recommendations', async () => {
    const kv = await nc.jetstream().views.kv('vigil_runs');
    for (const r of seededHistory(Date.now())) await kv.put(r.runId, JSON.stringify(r));
    // the scheduler records this very run as requested before the runner finishes it
    const self = { runId: 'health-1', job: 'health', attempt: 1, trigger: 'manual', status: 'requested' };
    await kv.put('health-1', JSON.stringify({ ...self, scheduledAt: new Date().toISOString() }));
    const notes = collectEvents(nc, 'notify.send');
    const runs = collectEvents(nc, 'job.*.health');
    await requestRun(nc, 'health', 'health-1', { headers: { 'Vigil-Correlation-Id': 'incident-42' } });
    const [note] = await notes.waitFor('notify.send', 1, 15_000);
    // the email it leads to shares the run's correlation id (logs and events of one incident join up)
    expect(note.headers['Vigil-Correlation-Id']).toBe('incident-42');
    expect(note.event.data.severity).toBe('CRITICAL');
    expect(note.event.data.recipients).toEqual(['ops@example.com']);
    expect(note.event.data.body).toContain('vigil trigger daily-reports --target c');
    expect(note.event.data.body).toMatch(/coverage 80%/);
    // only the runner is up in this test: the report says which services are not running
    expect(note.event.data.body).toContain('notifier is not running (no instance answered)');
    expect(note.event.data.body).not.toContain('reports is not running');
    const [done] = await runs.waitFor('job.succeeded', 1, 10_000);
    expect(done.event.data.details.coverage).toBeCloseTo(0.8);
  });
});
