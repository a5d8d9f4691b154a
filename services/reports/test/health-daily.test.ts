import type { JobDefinition, JobRun } from '@vigil/shared';
import { collectEvents, startNats, type TestServer } from '@vigil/shared/testing';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyseHealth, type HealthInput, type HealthReport } from '../src/health/health-analysis.js';
import { formatHealth, healthTitle, recommend } from '../src/health/recommendations.js';
import { jobsDir, requestRun, startRunner } from './helpers.js';

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
    // jobs since removed from the jobs file (not in `jobs` below, nor in the runner's jobs file): not judged
    run('br-1', 'bad-result', 6, 'failed', { error: err }),
    run('br-2', 'bad-result', 5, 'failed', { error: err }),
    run('pr-1', 'partner-reports', 4, 'partial', {
      targets: ['x', 'y'],
      failures: [{ target: 'y', error: err }],
    }),
    run('os-1', 'old-sync', 3, 'succeeded'),
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

/**
 * analyseHealth over the day before `now`: the seeded history against `jobs`, with no breaker open, an empty DLQ and
 * no secrets, unless `over` says otherwise.
 */
function analyseDay(now: number, over: Partial<HealthInput> = {}): HealthReport {
  return analyseHealth({
    now,
    windowMs: 24 * H,
    runs: seededHistory(now),
    jobs,
    openBreakers: [],
    dlqDepth: 0,
    secrets: [],
    ...over,
  });
}

describe('health.daily analysis', () => {
  it('computes coverage per job and target, success rate, MTTR and concrete recommendations', () => {
    const now = Date.parse('2026-11-24T08:00:00Z');
    const report = analyseDay(now, {
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
    expect(text).toMatch(/export: success rate 80% \(8\/10 runs succeeded\) is below 95%/);
    expect(text).toMatch(/export: mean time to recover 120 min exceeds 30 min/);
    expect(text).toContain('breaker reports/llm-gpt is open');
    expect(text).toContain('3 message(s) in the dead-letter queue');
    expect(text).toContain('secret openai is served stale');
    // seed 003: component health (Redis etc.), not only job history
    expect(text).toContain('webhooks: 2 of 2 instance(s) not ready — failing checks: redis');
    expect(text).not.toMatch(/^reports:/m);
    const body = formatHealth(report, recommendations);
    expect(body).toContain('- export: covered · 8/10 runs succeeded (80%: 2 failed)');
    expect(body).toContain('- cleanup: covered · 1/1 run succeeded (100%)');
    expect(body).toContain(
      '- daily-reports: 2/3 targets covered (missing: c) · 0/2 runs succeeded (0%: 1 partial, 1 failed)',
    );
    expect(expectFractionsMatchPercentages(body)).toBe(6);
  });

  it('judges only the jobs in the jobs file: a removed job is one line for information, no breach, no command', () => {
    const now = Date.parse('2026-11-24T08:00:00Z');
    const report = analyseDay(now);
    expect(report.jobs.map((j) => j.job)).toEqual(['cleanup', 'daily-reports', 'export']);
    // the same figures as without the removed jobs' runs
    expect(report.coverage).toBeCloseTo(4 / 5);
    expect(report.successRate).toBeCloseTo(9 / 13);
    expect(report.totals).toMatchObject({ runs: 13, counted: 13, succeeded: 9 });
    expect(report.removedJobs).toEqual([
      { job: 'bad-result', runs: 2, bad: 2 },
      { job: 'partner-reports', runs: 1, bad: 1 },
    ]);
    const { recommendations, reasons } = recommend(report, 'npx vigil');
    const text = recommendations.join('\n');
    for (const gone of ['bad-result', 'partner-reports', 'old-sync']) {
      expect(text).not.toContain(gone);
      expect(reasons.map((r) => r.text).join('\n')).not.toContain(gone);
    }
    const title = healthTitle('2026-11-24', report, reasons);
    expect(title).not.toContain('bad-result');
    expect(title).toContain('coverage 80.0%');
    const body = formatHealth(report, recommendations);
    expect(body).not.toMatch(/trigger (bad-result|partner-reports)/);
    expect(body).toContain(
      '- no longer in the jobs file, not judged (for information): bad-result — 2 of 2 runs did not succeed; partner-reports — 1 of 1 run did not succeed',
    );
    // a removed job that only succeeded is not worth a word
    expect(body).not.toContain('old-sync');

    // only removed jobs' failures: nothing to act on, INFO
    const onlyRemoved = analyseDay(now, {
      runs: seededHistory(now).filter((r) => r.job === 'bad-result' || r.job === 'cleanup'),
      jobs: [jobs[2]],
    });
    expect(recommend(onlyRemoved).severity).toBe('INFO');
    expect(onlyRemoved.coverage).toBe(1);
    expect(onlyRemoved.successRate).toBe(1);
  });

  it('the most frequent error is one failure, not every error of its class; the others are counted', () => {
    const now = Date.parse('2026-11-24T08:00:00Z');
    const failed = (i: number, message: string): JobRun => {
      const t = new Date(now - (i + 1) * 60_000).toISOString();
      return {
        runId: `h-${i}`,
        job: 'cleanup',
        attempt: 1,
        trigger: 'manual',
        scheduledAt: t,
        finishedAt: t,
        status: 'failed',
        error: { type: 'TransientError', class: 'transient', message },
      };
    };
    const runs = [
      failed(0, 'GET http://api/x failed: ECONNREFUSED 127.0.0.1:8443'),
      failed(1, 'GET http://api/x failed: timed out after 2000 ms'),
      failed(2, 'GET http://api/x failed: ECONNREFUSED 127.0.0.1:8443'),
      failed(3, 'GET http://api/x failed: timed out after 2001 ms'),
      failed(4, 'GET http://api/x failed: timed out after 1999 ms'),
    ];
    const report = analyseDay(now, { runs, jobs: [jobs[2]] });
    expect(report.jobs[0].topError).toMatchObject({ count: 3, otherErrors: 2 });
    expect(report.jobs[0].topError?.message).toMatch(/timed out after \d+ ms/);
    expect(recommend(report).recommendations.join('\n')).toMatch(
      /most frequent error: TransientError \(transient, 3×\): GET http:\/\/api\/x failed: timed out after \d+ ms \(\+2 runs with other errors: `vigil runs --job cleanup --status failed`\)/,
    );
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
    const report = analyseDay(now, { runs, jobs: [jobs[2]] });
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

/**
 * Every "x/y runs succeeded (z%" and "success rate z% (x/y runs succeeded" in a text: the fraction and the
 * percentage must count the same runs.
 */
function expectFractionsMatchPercentages(text: string): number {
  const found = [
    ...[...text.matchAll(/(\d+)\/(\d+) runs? succeeded \((\d+(?:\.\d)?)%/g)].map(([line, ok, of, p]) => ({
      line,
      ok,
      of,
      p,
    })),
    ...[...text.matchAll(/success rate (\d+(?:\.\d)?)% \((\d+)\/(\d+) runs? succeeded/g)].map(([line, p, ok, of]) => ({
      line,
      ok,
      of,
      p,
    })),
  ];
  for (const { line, ok, of, p } of found) expect(Number(p), line).toBeCloseTo((Number(ok) / Number(of)) * 100, 1);
  return found.length;
}

describe('health.daily run counts and title', () => {
  const now = Date.parse('2026-12-05T07:00:00Z');
  const M = 60 * 1000;
  const run = (
    runId: string,
    job: string,
    minutesAgo: number,
    status: JobRun['status'],
    extra: Partial<JobRun> = {},
  ): JobRun => {
    const t = new Date(now - minutesAgo * M).toISOString();
    const finished = !['requested', 'started', 'stuck'].includes(status);
    return {
      runId,
      job,
      attempt: 1,
      trigger: 'schedule',
      scheduledAt: t,
      ...(status === 'requested' ? {} : { startedAt: t }),
      ...(finished ? { finishedAt: t } : {}),
      status,
      ...extra,
    };
  };
  const base = { now, windowMs: 24 * H, openBreakers: [], dlqDepth: 0, secrets: [] };

  it('a run in progress is left out of both the fraction and the percentage, and says so', () => {
    const runs: JobRun[] = [
      run('dr-1', 'daily-reports', 60, 'succeeded', { targets: ['a', 'b'] }),
      run('dr-2', 'daily-reports', 30, 'succeeded', { targets: ['c'] }),
      // the walkthrough's case: still running, within its timeout
      run('dr-3', 'daily-reports', 10, 'started'),
    ];
    for (let i = 0; i < 9; i++) runs.push(run(`hb-${i}`, 'heartbeat', 60 * (i + 1), 'succeeded'));
    // requested a minute ago: waiting for its runner, within its start deadline
    runs.push(run('hb-9', 'heartbeat', 1, 'requested'));
    runs.push(run('hb-x', 'heartbeat', 90, 'skipped'));
    const report = analyseHealth({
      ...base,
      runs,
      jobs: [
        def('daily-reports', { handler: 'report.daily', targets: ['a', 'b', 'c'] }),
        def('heartbeat', { schedule: undefined, every: H }),
      ],
    });
    const byJob = Object.fromEntries(report.jobs.map((j) => [j.job, j]));
    expect(byJob['daily-reports']).toMatchObject({ runs: 3, counted: 2, succeeded: 2, running: 1, successRate: 1 });
    expect(byJob.heartbeat).toMatchObject({ runs: 11, counted: 9, succeeded: 9, running: 1, skipped: 1 });
    expect(report.totals).toMatchObject({ runs: 14, counted: 11, succeeded: 11, running: 2, skipped: 1 });
    expect(report.successRate).toBe(1);

    const { severity, recommendations, reasons } = recommend(report);
    expect(severity).toBe('INFO');
    const body = formatHealth(report, recommendations);
    expect(body).toContain(
      '- daily-reports: 3/3 targets covered · 2/2 runs succeeded (100%) · 1 in progress (not counted)',
    );
    expect(body).toContain('- heartbeat: covered · 9/9 runs succeeded (100%) · 1 in progress, 1 skipped (not counted)');
    expect(body).toContain('all jobs: 11/11 runs succeeded (100%) · 2 in progress, 1 skipped (not counted)');
    expect(body).not.toMatch(/\b2\/3 (runs )?succeeded/);
    expect(expectFractionsMatchPercentages(body)).toBe(3);
    expect(healthTitle('2026-12-05', report, reasons)).toBe(
      'Vigil daily health 2026-12-05 — coverage 100.0%, success 100.0%',
    );
  });

  it('a run past its timeout counts as stuck (as the scheduler would say), whether or not the scheduler said so', () => {
    const report = analyseHealth({
      ...base,
      runs: [
        run('ex-1', 'export', 240, 'succeeded'),
        run('ex-2', 'export', 180, 'succeeded'),
        // the scheduler's watchdog gave its verdict
        run('ex-3', 'export', 150, 'stuck'),
        // still recorded as started 45 min after its start, past the job's 30 min timeout: no verdict (scheduler down?)
        run('ex-4', 'export', 45, 'started'),
        // within the timeout: in progress
        run('ex-5', 'export', 20, 'started'),
        // never started, 10 min after its slot: past the 2 min default start deadline
        run('ex-6', 'export', 10, 'requested'),
      ],
      jobs: [def('export', { schedule: undefined, every: H, timeout: 30 * M })],
    });
    const [ex] = report.jobs;
    expect(ex).toMatchObject({
      runs: 6,
      counted: 5,
      succeeded: 2,
      stuck: 2,
      overdueStuck: 1,
      missed: 1,
      overdueMissed: 1,
      running: 1,
    });
    expect(ex.successRate).toBeCloseTo(2 / 5);
    expect(report.successRate).toBeCloseTo(2 / 5);
    const { severity, recommendations } = recommend(report);
    expect(severity).toBe('WARNING');
    const body = formatHealth(report, recommendations);
    expect(body).toContain(
      '- export: covered · 2/5 runs succeeded (40%: 1 missed, 2 stuck) · 1 in progress (not counted)',
    );
    expect(body).toContain(
      'export: 2 stuck runs (still running past the timeout; 1 still recorded as started, with no verdict from the scheduler)',
    );
    expect(body).toContain(
      'export: 1 missed run (not started within the start deadline; 1 still recorded as requested, with no verdict from the scheduler)',
    );
    expect(body).toContain('export: success rate 40% (2/5 runs succeeded; 1 in progress, not counted) is below 95%');
    expect(expectFractionsMatchPercentages(body)).toBe(3);
  });

  it("a job without its own deadlines is judged by the service's SCHEDULER_* defaults, as the scheduler judges it", () => {
    const runs = [run('lr-1', 'long-report', 90, 'started'), run('lr-2', 'long-report', 5, 'requested')];
    const jobs = [def('long-report', { schedule: undefined, every: 24 * H })];
    // the defaults (1h timeout, 2m start deadline): stuck and missed
    expect(analyseHealth({ ...base, runs, jobs }).jobs[0]).toMatchObject({ stuck: 1, missed: 1, running: 0 });
    // a deployment with SCHEDULER_DEFAULT_TIMEOUT=3h and SCHEDULER_START_DEADLINE=10m: both still in progress
    const relaxed = analyseHealth({ ...base, runs, jobs, deadlines: { startDeadlineMs: 10 * M, timeoutMs: 3 * H } });
    expect(relaxed.jobs[0]).toMatchObject({ stuck: 0, missed: 0, running: 2, counted: 0 });
  });

  it('names what made it CRITICAL in the title when coverage and success are fine, without repeating the severity', () => {
    const report = analyseHealth({
      ...base,
      runs: [run('cl-1', 'cleanup', 60, 'succeeded')],
      jobs: [def('cleanup', { handler: 'command' })],
      dlqDepth: 1,
      components: [
        { service: 'scheduler', ready: true, instances: 1, failing: [] },
        { service: 'secrets', ready: false, instances: 0, failing: [], error: 'no instance answered' },
      ],
    });
    const { severity, reasons } = recommend(report);
    expect(severity).toBe('CRITICAL');
    const title = healthTitle('2026-12-05', report, reasons);
    // the notifier's subject adds "🚨 CRITICAL: " in front of it
    expect(title).toBe('Vigil daily health 2026-12-05 — secrets not running; DLQ 1 · coverage 100.0%, success 100.0%');
    expect(title).not.toContain('CRITICAL');
  });

  it('a service that did not answer in time is "not answering" (WARNING), not "not running"; a backup is not suggested twice', () => {
    const report = analyseHealth({
      ...base,
      runs: [
        run('r-1', 'reports', 60, 'failed', { error: { type: 'TransientError', message: 'x', class: 'transient' } }),
      ],
      jobs: [def('reports', { handler: 'command', backup: { after: 3_600_000 } })],
      dlqDepth: 0,
      components: [{ service: 'webhooks', ready: false, instances: 0, failing: [], error: 'no answer within 3000 ms' }],
    });
    const { recommendations, reasons } = recommend(report);
    expect(reasons.map((r) => r.text)).toContain('webhooks not answering');
    expect(reasons.find((r) => r.text.startsWith('webhooks'))?.severity).toBe('WARNING');
    expect(recommendations.join('\n')).toContain(
      'webhooks did not answer its health request (no answer within 3000 ms)',
    );
    expect(recommendations.join('\n')).not.toContain('backup: { after');
    expect(recommendations.join('\n')).toContain('or an earlier backup');
    // the commands it names call the CLI as ALERT_CLI says (a checkout's `npx vigil`)
    expect(recommend(report, 'npx vigil').recommendations.join('\n')).toContain('check `npx vigil health`');
  });

  it('a title names the two most severe reasons, then +N more, and stays short', () => {
    const long = 'x'.repeat(120);
    const report = analyseHealth({
      ...base,
      runs: [run('cl-1', 'cleanup', 60, 'succeeded')],
      jobs: [def('cleanup', { handler: 'command' })],
      openBreakers: [{ service: 'reports', name: long }],
      dlqDepth: undefined,
      secrets: [{ name: 'openai', stale: true, ageSeconds: 60 }],
      components: [
        { service: 'webhooks', ready: false, instances: 2, failing: ['redis'] },
        { service: 'notifier', ready: false, instances: 0, failing: [] },
      ],
    });
    const { severity, reasons } = recommend(report);
    expect(severity).toBe('CRITICAL');
    const title = healthTitle('2026-12-05', report, reasons);
    // CRITICAL first, then in the order of the recommendations; a long name is clipped
    expect(title).toMatch(
      /^Vigil daily health 2026-12-05 — notifier not running; breaker reports\/x+… \+3 more · coverage 100\.0%, success 100\.0%$/,
    );
    expect(title.length).toBeLessThanOrEqual(180);
  });

  it('a coverage gap is told by the coverage figure; a low success of one job is named while the overall rate is fine', () => {
    const runs: JobRun[] = [
      run('dr-1', 'daily-reports', 60, 'partial', {
        failures: [{ target: 'c', error: { type: 'E', message: 'm', class: 'transient' } }],
      }),
    ];
    for (let i = 0; i < 40; i++) runs.push(run(`hb-${i}`, 'heartbeat', 10 * (i + 1), 'succeeded'));
    const report = analyseHealth({
      ...base,
      runs,
      jobs: [
        def('daily-reports', { handler: 'report.daily', targets: ['a', 'b', 'c'] }),
        def('heartbeat', { schedule: undefined, every: 10 * M }),
      ],
    });
    const { severity, reasons } = recommend(report);
    expect(severity).toBe('CRITICAL');
    expect(healthTitle('2026-12-05', report, reasons)).toBe(
      'Vigil daily health 2026-12-05 — daily-reports success 0%; daily-reports still failing · coverage 75.0%, success 97.6%',
    );
  });
});

describe('health.daily in the runner', () => {
  let nats: TestServer;
  let nc: NatsConnection;
  let service: Awaited<ReturnType<typeof startRunner>>;

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
    service = await startRunner(nats.url, file, { LOG_LEVEL: 'error' });
  });

  afterAll(async () => {
    await service?.stop();
    await nc?.close();
    await nats?.stop();
  });

  it('reads vigil_runs and publishes notify.send with severity and recommendations', async () => {
    const kv = await nc.jetstream().views.kv('vigil_runs');
    const now = Date.now();
    for (const r of seededHistory(now)) await kv.put(r.runId, JSON.stringify(r));
    // runs in flight: one within its timeout (in progress: not counted), one started 3 h ago and never reported
    // stuck (past the 1 h default timeout: counted as stuck, as the scheduler would have)
    const inFlight = (runId: string, job: string, startedAt: number) => ({
      runId,
      job,
      attempt: 1,
      trigger: 'schedule',
      scheduledAt: new Date(startedAt).toISOString(),
      startedAt: new Date(startedAt).toISOString(),
      status: 'started',
    });
    await kv.put('dr-3', JSON.stringify(inFlight('dr-3', 'daily-reports', now - 10 * 60_000)));
    await kv.put('ex-hung', JSON.stringify(inFlight('ex-hung', 'export', now - 3 * H)));
    // the scheduler records this very run as requested before the runner finishes it
    const self = { runId: 'health-1', job: 'health', attempt: 1, trigger: 'manual', status: 'requested' };
    await kv.put('health-1', JSON.stringify({ ...self, scheduledAt: new Date().toISOString() }));
    // a stand-in secrets service (its request/reply protocol, contract §4) serving the notifier's recipients secret
    // stale: the jobs file names no secret, and the report must still say so
    const status = nc.subscribe('secrets.status', {
      callback: (_err, msg) => {
        const row = { name: 'job_failure_recipients', cached: true, stale: true, ageSeconds: 5400, source: 'file' };
        msg.respond(
          new TextEncoder().encode(
            JSON.stringify([
              { ...row, lastError: { type: 'ENOENT', message: 'ENOENT: no such file', at: new Date().toISOString() } },
              { ...row, name: 'fresh', stale: false },
            ]),
          ),
        );
      },
    });
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
    // bad-result and partner-reports are no longer in the jobs file: no re-run command, no breach, one info line
    expect(note.event.data.body).not.toMatch(/trigger (bad-result|partner-reports)/);
    expect(note.event.data.body).not.toMatch(/^\* (bad-result|partner-reports)/m);
    expect(note.event.data.title).not.toMatch(/bad-result|partner-reports/);
    expect(note.event.data.body).toContain(
      '- no longer in the jobs file, not judged (for information): bad-result — 2 of 2 runs did not succeed; partner-reports — 1 of 1 run did not succeed',
    );
    // only the runner is up in this test: the report says which services are not running
    expect(note.event.data.body).toContain('notifier is not running (no instance answered)');
    expect(note.event.data.body).not.toContain('reports is not running');
    expect(note.event.data.body).toContain(
      'secret job_failure_recipients is served stale (age 5400 s): the provider is failing (ENOENT: no such file)',
    );
    expect(note.event.data.body).not.toContain('secret fresh');
    // the window as a person reads it, not two raw ISO stamps
    expect(note.event.data.body).toMatch(
      /^Vigil daily health: runs from \d{4}-\d\d-\d\d \d\d:\d\d UTC to \d{4}-\d\d-\d\d \d\d:\d\d UTC$/m,
    );
    status.unsubscribe();
    // the counts agree with their percentages and say what they leave out
    const body: string = note.event.data.body;
    expect(body).toContain(
      '- daily-reports: 2/3 targets covered (missing: c) · 0/2 runs succeeded (0%: 1 partial, 1 failed) · 1 in progress (not counted)',
    );
    expect(body).toContain('- export: covered · 8/11 runs succeeded (72.7%: 2 failed, 1 stuck)');
    expect(body).toContain(
      'all jobs: 9/14 runs succeeded (64.3%: 1 partial, 3 failed, 1 stuck) · 1 in progress (not counted)',
    );
    expect(body).toContain('still recorded as started, with no verdict from the scheduler');
    expect(expectFractionsMatchPercentages(body)).toBeGreaterThanOrEqual(4);
    expect(note.event.data.details).toMatchObject({ runsCounted: 14, runsSucceeded: 9, runsInProgress: 1 });
    expect(note.event.data.details.successRate).toBeCloseTo(9 / 14);
    // the title says why beyond the figures (services down), and leaves the severity to the notifier's subject prefix
    expect(note.event.data.title).toMatch(
      /^Vigil daily health \d{4}-\d\d-\d\d — scheduler not running; notifier not running \+\d+ more · coverage 80\.0%, success 64\.3%$/,
    );
    const [done] = await runs.waitFor('job.succeeded', 1, 10_000);
    expect(done.event.data.details.coverage).toBeCloseTo(0.8);
    expect(done.event.data.details).toMatchObject({ runsCounted: 14, runsSucceeded: 9, runsInProgress: 1 });
    expect(done.event.data.details.reasons).toContain('CRITICAL: scheduler not running');
  });

  it('a second run the same day stores its own report (not dropped as a duplicate of the first)', async () => {
    const jsm = await nc.jetstreamManager();
    const stored = async () =>
      (await jsm.streams.info('VIGIL_NOTIFY', { subjects_filter: 'notify.send' })).state.subjects?.['notify.send'] ?? 0;
    const before = await stored();
    const runs = collectEvents(nc, 'job.*.health');
    await requestRun(nc, 'health', 'health-again-1');
    await runs.waitFor('job.succeeded', 1, 15_000);
    await requestRun(nc, 'health', 'health-again-2');
    await runs.waitFor('job.succeeded', 2, 15_000);
    // the stream is what the notifier consumes: a publish JetStream dropped as a duplicate never becomes an email
    expect(await stored()).toBe(before + 2);
    runs.stop();
  });
});
