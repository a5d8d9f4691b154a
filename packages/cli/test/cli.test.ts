import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  collectEvents,
  type EventCollector,
  freePort,
  startNats,
  type TestServer,
  waitFor,
  buildPackages,
} from '@vigil/shared/testing';
import { createLogger, deadLetter, EventBus, PermanentError, Subjects } from '@vigil/shared';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/index.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = path.join(root, 'packages/cli/bin/vigil.mjs');
const run = promisify(execFile);

const JOBS = `jobs:
  daily-reports:
    schedule: "0 6 * * *"
    handler: report.daily
    targets: [acme, globex]
  heartbeat:
    handler: health.daily
    concurrency: forbid
  later:
    handler: health.daily
`;
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

describe('vigil CLI against a real scheduler process', () => {
  let nats: TestServer;
  let nc: NatsConnection;
  let events: EventCollector;
  let scheduler: ChildProcess;
  let env: { natsUrl: string; userName: string };
  let jobsFile: string;

  const cli = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, { env, io: { out: (t) => out.push(t), err: (t) => err.push(t) } });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  beforeAll(async () => {
    buildPackages(root, 'services/scheduler', 'packages/cli');
    nats = await startNats();
    const dir = mkdtempSync(path.join(tmpdir(), 'vigil-test-cli-'));
    jobsFile = path.join(dir, 'jobs.yaml');
    writeFileSync(jobsFile, JOBS);
    const port = await freePort();
    scheduler = spawn(process.execPath, [path.join(root, 'services/scheduler/dist/main.js')], {
      env: {
        ...process.env,
        NATS_URL: nats.url,
        HTTP_PORT: String(port),
        VIGIL_JOBS_FILE: jobsFile,
        LOG_LEVEL: 'warn',
        VIGIL_API_TOKEN: 't',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200, 20_000);
    env = { natsUrl: nats.url, userName: 'tester' };
    nc = await connect({ servers: nats.url });
    events = collectEvents(nc, '>');
  }, 90_000);

  afterAll(async () => {
    events?.stop();
    await nc?.close();
    scheduler?.kill('SIGTERM');
    await nats?.stop();
  });

  it('`vigil trigger daily-reports --target acme --reason test` publishes the trigger and prints the runId', async () => {
    const { stdout } = await run(
      process.execPath,
      [bin, 'trigger', 'daily-reports', '--target', 'acme', '--reason', 'test'],
      {
        env: { ...process.env, NATS_URL: nats.url },
      },
    );
    const runId = stdout.trim();
    expect(runId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    const trig = await waitFor(() => events.of('job.trigger.daily-reports').find((e) => e.event.id === runId));
    expect(trig.event.data).toMatchObject({ reason: 'test', targets: ['acme'] });
    const req = await waitFor(() => events.of('job.requested.daily-reports').find((e) => e.event.data.runId === runId));
    expect(req.event.data).toMatchObject({ trigger: 'manual', targets: ['acme'], reason: 'test' });

    // the run shows up in history, by table and by JSON
    const one = await waitFor(async () => {
      const r = await cli('--json', 'run', runId);
      return r.code === 0 ? JSON.parse(r.out) : undefined;
    });
    expect(one).toMatchObject({ runId, status: 'requested', targets: ['acme'] });
    const runs = await cli('runs', '--job', 'daily-reports');
    expect(runs.code).toBe(0);
    expect(runs.out).toMatch(/^RUN\s+JOB\s+TRIGGER\s+STATUS/);
    expect(runs.out).toContain(runId);

    // forbid: a second unforced trigger is refused with the reason, exit 1
    const again = await cli('trigger', 'daily-reports', '--reason', 'again');
    expect(again.code).toBe(1);
    // no runner runs here: the first run is queued, and the refusal says so
    expect(again.err).toMatch(new RegExp(`run ${runId} is queued since .+ UTC and has not started`));
  });

  it('a delayed run shows as delayed until its time, not as running', async () => {
    const r = await cli('trigger', 'later', '--reason', 'later', '--delay', '2h');
    expect(r.code).toBe(0);
    const row = await waitFor(async () => {
      const line = (await cli('jobs')).out.split('\n').find((l) => l.startsWith('later'));
      return line?.includes(r.out) ? line : undefined;
    });
    expect(row).toMatch(new RegExp(`delayed ${r.out} until \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ$`));
    const json = JSON.parse((await cli('--json', 'jobs')).out).find((j: { name: string }) => j.name === 'later');
    expect(json).toMatchObject({ currentRunId: r.out, currentStatus: 'requested' });
    expect(Date.parse(json.currentNotBefore) - Date.now()).toBeGreaterThan(7_000_000);
  });

  it('jobs, pause and resume', async () => {
    const jobs = await cli('--json', 'jobs');
    expect(jobs.code).toBe(0);
    expect(JSON.parse(jobs.out)).toEqual([
      expect.objectContaining({ name: 'daily-reports', handler: 'report.daily', paused: false }),
      expect.objectContaining({ name: 'heartbeat', handler: 'health.daily', paused: false }),
      expect.objectContaining({ name: 'later', handler: 'health.daily', paused: false }),
    ]);
    expect(jobs.err).toBe('');
    expect((await cli('pause', 'daily-reports', '--reason', 'maintenance')).out).toBe('daily-reports paused');
    await waitFor(async () => JSON.parse((await cli('--json', 'jobs')).out)[0].paused === true);
    expect((await cli('jobs')).out).toMatch(/daily-reports\s+report\.daily\s+0 6 \* \* \*.*paused/);
    expect((await cli('resume', 'daily-reports')).code).toBe(0);
  });

  it('--delay takes any duration the jobs file takes (1h30m), or a bare number of seconds', async () => {
    for (const [delay, seconds] of [
      ['1h30m', 5_400],
      ['90', 90],
      ['1500ms', 2],
    ] as const) {
      const r = await cli('trigger', 'daily-reports', '--reason', `delay ${delay}`, '--delay', delay, '--force');
      expect(r.code).toBe(0);
      const trig = await waitFor(() => events.of('job.trigger.daily-reports').find((e) => e.event.id === r.out));
      expect(trig.event.data.delaySeconds).toBe(seconds);
    }
  });

  it('usage errors exit 2, unknown things exit 1 with a one-line reason', async () => {
    expect((await cli('trigger', 'daily-reports')).code).toBe(2);
    expect((await cli('trigger', 'daily-reports', '--reason', 'x', '--delay', 'soon')).code).toBe(2);
    // a delay longer than the queue keeps a request would be lost: refused up front
    const tooLong = await cli('trigger', 'daily-reports', '--reason', 'x', '--delay', '30d');
    expect(tooLong).toMatchObject({ code: 2, err: expect.stringMatching(/too long: at most 6d/) });
    expect((await cli('nope')).code).toBe(2);
    const unknown = await cli('trigger', 'no-such-job', '--reason', 'x');
    expect(unknown).toMatchObject({ code: 1, err: 'vigil: no job named "no-such-job"' });
    // targets are checked by the scheduler: one the job lacks, or any for a job that has none
    const umbrella = await cli('trigger', 'daily-reports', '--target', 'umbrella', '--reason', 'x');
    expect(umbrella).toMatchObject({
      code: 1,
      err: `vigil: targets: "umbrella" not in job daily-reports's targets (acme, globex)`,
    });
    const none = await cli('trigger', 'heartbeat', '--target', 'acme', '--reason', 'x');
    expect(none).toMatchObject({ code: 1, err: expect.stringContaining('job heartbeat has no targets') });
    // an --id that cannot be a run id is a usage error, before anything is sent
    const badId = await cli('trigger', 'heartbeat', '--reason', 'x', '--id', 'run 1', '--queue');
    expect(badId).toMatchObject({ code: 2, err: expect.stringContaining('--id "run 1": must be 1 to 128 letters') });
    expect((await cli('run', 'nope')).code).toBe(1);
    // typos are usage errors, not an empty list or a test mail sent to someone else
    const status = await cli('runs', '--status', 'faild');
    expect(status).toMatchObject({ code: 2, err: expect.stringContaining('--status must be one of requested') });
    const to = await cli('test-email', '--to', 'notanemail');
    expect(to).toMatchObject({ code: 2, err: expect.stringContaining('"notanemail" is not an email address') });
  });

  it('health reports every service and exits 1 while some are not running', async () => {
    const h = await cli('--json', 'health');
    expect(h.code).toBe(1);
    const body = JSON.parse(h.out);
    expect(body.services.find((s: { service: string }) => s.service === 'scheduler').ready).toBe(true);
    expect(body.services.find((s: { service: string }) => s.service === 'reports').ready).toBe(false);
    expect(body.coverage).toEqual([expect.objectContaining({ job: 'daily-reports', total: 2 })]);
  });

  it('a rejected jobs-file edit shows in `vigil health` and `vigil jobs` until a valid version loads', async () => {
    writeFileSync(jobsFile, JOBS.replace('schedule: "0 6 * * *"', 'schedule: "0 6 * *"'));
    const problem = await waitFor(async () => {
      const h = JSON.parse((await cli('--json', 'health')).out) as { problems: string[] };
      return h.problems.find((p) => p.startsWith(`jobs file ${jobsFile} rejected at `));
    }, 15_000);
    expect(problem).toMatch(
      /rejected at \S+Z: line 3:15 jobs\.daily-reports\.schedule: .*; running the version loaded at \S+Z$/,
    );
    const human = await cli('health');
    expect(human.code).toBe(1);
    expect(human.out).toContain(`overall: DEGRADED`);
    expect(human.out).toContain(`  - ${problem}`);
    // how many instances of each answered: the one scheduler here, none of the services not started
    expect(human.out).toMatch(/^SERVICE\s+READY\s+INSTANCES\s+DETAIL$/m);
    expect(human.out).toMatch(/^scheduler\s+yes\s+1\s+-$/m);
    expect(human.out).toMatch(/^reports\s+NO\s+0\s+\S/m);
    const jobs = await cli('jobs');
    expect(jobs.code).toBe(0);
    expect(jobs.err).toBe(`vigil: warning: ${problem}`);
    expect(jobs.out).toMatch(/^daily-reports\s+report\.daily\s+0 6 \* \* \*/m);

    writeFileSync(jobsFile, JOBS);
    await waitFor(async () => {
      const h = JSON.parse((await cli('--json', 'health')).out) as { problems: string[] };
      return !h.problems.some((p) => p.startsWith('jobs file '));
    }, 15_000);
    expect((await cli('jobs')).err).toBe('');
  });

  it('a trigger without an answer names its run; queueing that id runs the job once, even after the stale request', async () => {
    const stored = async (subject: string) => {
      const jsm = await nc.jetstreamManager();
      const info = await jsm.streams.info('VIGIL_JOBS', { subjects_filter: subject });
      return info.state.subjects?.[subject] ?? 0;
    };
    // a frozen scheduler: NATS still hands it the request, it answers nothing until it runs again
    scheduler.kill('SIGSTOP');
    let id = '';
    try {
      const stale = await cli('trigger', 'heartbeat', '--reason', 'frozen scheduler');
      expect(stale.code).toBe(1);
      id = /the run may still start as (\S+) /.exec(stale.err)?.[1] ?? '';
      expect(id).toMatch(ULID);
      expect(stale.err).toMatch(/^vigil: no answer from the scheduler service on scheduler\.trigger\b.* within 5s/);
      expect(stale.err).toContain(`(\`vigil run ${id}\` shows whether it did)`);
      expect(stale.err).toContain(
        `\`vigil trigger heartbeat --id ${id} --queue --reason 'frozen scheduler'\` queues this same run`,
      );
      // no hint that would run it twice
      expect(stale.err).not.toContain('`vigil trigger --queue`');
      // the user follows the hint
      const queued = await cli('trigger', 'heartbeat', '--id', id, '--queue', '--reason', 'frozen scheduler');
      expect(queued.code).toBe(0);
      expect(queued.out.split('\n')[0]).toBe(id);
    } finally {
      scheduler.kill('SIGCONT');
    }
    // awake: it handles the stale request and reads the queued trigger; the job runs once, as that id
    await waitFor(() => events.of('job.requested.heartbeat').find((e) => e.event.data.runId === id), 15_000);
    // the same again now (after the stale request, on the same endpoint): answered with that run, not a second
    const again = await cli('trigger', 'heartbeat', '--id', id, '--reason', 'frozen scheduler');
    expect(again).toMatchObject({ code: 0, out: id });
    const run = await waitFor(async () => {
      const r = await cli('--json', 'run', id);
      return r.code === 0 ? JSON.parse(r.out) : undefined;
    });
    expect(run).toMatchObject({ runId: id, job: 'heartbeat', trigger: 'manual', reason: 'frozen scheduler' });
    expect(new Set(events.of('job.requested.heartbeat').map((e) => e.event.data.runId))).toEqual(new Set([id]));
    expect(new Set(events.of('job.trigger.heartbeat').map((e) => e.event.id))).toEqual(new Set([id]));
    expect(events.of('job.skipped.heartbeat')).toHaveLength(0);
    // what the runners get: one request (the stream kept one trigger and one job.requested)
    expect(await stored('job.trigger.heartbeat')).toBe(1);
    expect(await stored('job.requested.heartbeat')).toBe(1);
  }, 30_000);

  it('`vigil run` shows what the handler said of the run: the model each report used', async () => {
    const bus = new EventBus(nc, {
      service: 'reports',
      logger: createLogger({ service: 'cli-test', level: 'silent' }),
    });
    const runId = '01JTESTDETA1LSRUN000000001';
    const at = new Date().toISOString();
    // what a runner publishes when the primary model failed and the fallback wrote both reports
    await bus.publish('job.succeeded.daily-reports', {
      runId,
      job: 'daily-reports',
      attempt: 1,
      trigger: 'manual',
      scheduledAt: at,
      startedAt: at,
      finishedAt: at,
      durationMs: 1200,
      status: 'succeeded',
      stats: { targets: 2, succeeded: 2, failed: 0, skipped: 0 },
      details: { model: 'fallback-model', models: { acme: 'fallback-model', globex: 'fallback-model' } },
    });
    const shown = await waitFor(async () => {
      const r = await cli('run', runId);
      return r.code === 0 && r.out.includes('details') ? r.out : undefined;
    });
    expect(shown).toContain('\n  model: fallback-model\n');
    expect(shown).toContain('  models: {"acme":"fallback-model","globex":"fallback-model"}');
    const json = JSON.parse((await cli('--json', 'run', runId)).out);
    expect(json.details).toEqual({
      model: 'fallback-model',
      models: { acme: 'fallback-model', globex: 'fallback-model' },
    });
  });

  it('test-email publishes a CRITICAL notify.send; dlq list works; secrets status says when nobody answers', async () => {
    const errs: string[] = [];
    const t = await cli('test-email', '--to', 'ops@example.com');
    expect(t.code).toBe(0);
    const [mail] = await events.waitFor('notify.send');
    expect(mail.event.data).toMatchObject({
      severity: 'CRITICAL',
      title: 'Vigil test email',
      recipients: ['ops@example.com'],
    });
    expect(await cli('dlq', 'list')).toMatchObject({ code: 0, out: 'dead-letter queue is empty' });
    expect((await cli('dlq', 'replay', 'x')).code).toBe(2);
    const s = await main(['secrets', 'status'], { env, io: { out: () => {}, err: (t) => errs.push(t) } }).then(
      (code) => ({ code, err: errs.join('') }),
    );
    expect(s.code).toBe(1);
    expect(s.err).toMatch(/secrets service .*is it running\?/);
  });

  it('dlq replay re-drives a dead letter: published again, gone from `dlq list`; the same seq again exits 1', async () => {
    const bus = new EventBus(nc, {
      service: 'cli-test',
      logger: createLogger({ service: 'cli-test', level: 'silent' }),
    });
    const jsm = await nc.jetstreamManager();
    // two notify.send the notifier gave up on (no notifier runs here: dead-lettered by hand, as its consumer would)
    const deadLetters: number[] = [];
    for (const key of ['dlq-cli-1', 'dlq-cli-2']) {
      const ack = await bus.publish(Subjects.notifySend, { severity: 'INFO', title: key, body: 'b', dedupeKey: key });
      const sm = await jsm.streams.getMessage(ack.stream, { seq: ack.seq });
      const msg = {
        subject: sm.subject,
        data: sm.data,
        headers: sm.header,
        info: { stream: ack.stream, streamSequence: ack.seq },
      };
      deadLetters.push((await deadLetter(nc.jetstream(), msg, new PermanentError('smtp refused'), 1)).seq);
    }
    const [one, two] = deadLetters;
    const listed = async () =>
      (JSON.parse((await cli('--json', 'dlq', 'list')).out) as { seq: number }[]).map((e) => e.seq);
    expect(await listed()).toEqual([two, one]);

    const human = await cli('dlq', 'replay', String(one));
    expect(human.code).toBe(0);
    expect(human.out).toMatch(
      new RegExp(`^replayed DLQ #${one} to notify\\.send \\(VIGIL_\\w+ #\\d+\\); removed from the dead-letter queue$`),
    );
    const json = await cli('--json', 'dlq', 'replay', String(two));
    expect(JSON.parse(json.out)).toMatchObject({
      replayed: two,
      subject: 'notify.send',
      duplicate: false,
      removed: true,
    });
    const replayed = await waitFor(() => {
      const got = events.of('notify.send').filter((e) => e.headers['Vigil-Replay-Of']);
      return got.length === 2 ? got : undefined;
    });
    expect(replayed.map((e) => e.event.data.title).sort()).toEqual(['dlq-cli-1', 'dlq-cli-2']);
    expect(await listed()).toEqual([]);
    expect(await cli('dlq', 'list')).toMatchObject({ code: 0, out: 'dead-letter queue is empty' });

    const again = await cli('dlq', 'replay', String(one));
    expect(again).toMatchObject({ code: 1, err: expect.stringMatching(new RegExp(`no dead letter with seq ${one}`)) });
    expect(events.of('notify.send').filter((e) => e.headers['Vigil-Replay-Of'])).toHaveLength(2);
  });

  it('NATS unreachable: one clear line and exit 1, quickly', async () => {
    const started = Date.now();
    const r = await main(['jobs'], {
      env: { natsUrl: 'nats://127.0.0.1:1', userName: 'x' },
      io: { out: () => {}, err: (t) => expect(t).toMatch(/cannot reach NATS at nats:\/\/127\.0\.0\.1:1/) },
    });
    expect(r).toBe(1);
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('trigger --queue publishes job.trigger.<job> itself: with no scheduler answering, the run waits in the stream', async () => {
    const queued = await cli(
      '--json',
      'trigger',
      'daily-reports',
      '--reason',
      'queued on purpose',
      '--queue',
      '--force',
    );
    expect(queued.code).toBe(0);
    const { runId } = JSON.parse(queued.out);
    // the scheduler reads it like any trigger (forced: earlier tests left a run going): the printed id is the runId
    const req = await waitFor(
      () => events.of('job.requested.daily-reports').find((e) => e.event.data.runId === runId),
      10_000,
    );
    expect(req.event.data).toMatchObject({ trigger: 'manual', reason: 'queued on purpose' });

    scheduler.kill('SIGKILL');
    await new Promise((r) => scheduler.once('exit', r));
    const refused = await cli('trigger', 'daily-reports', '--reason', 'nobody home');
    expect(refused.code).toBe(1);
    // no responder (503) or, with this test's '>' subscriber taking the request, no answer: either way it names the
    // run's id and how to queue exactly that run
    const refusedId = /--id (\S+) --queue/.exec(refused.err)?.[1] ?? '';
    expect(refusedId).toMatch(ULID);
    expect(refused.err).toContain(`\`vigil trigger daily-reports --id ${refusedId} --queue --reason 'nobody home'\``);
    const waiting = await cli('trigger', 'daily-reports', '--reason', 'nobody home', '--queue', '--id', refusedId);
    expect(waiting.code).toBe(0);
    const waitingId = waiting.out.split('\n')[0];
    expect(waitingId).toBe(refusedId);
    const jsm = await nc.jetstreamManager();
    const stored = await jsm.streams.getMessage('VIGIL_JOBS', { last_by_subj: 'job.trigger.daily-reports' });
    expect(JSON.parse(new TextDecoder().decode(stored.data))).toMatchObject({
      id: waitingId,
      data: { reason: 'nobody home' },
    });
  });

  it('a malformed NATS_URL or a missing NATS_CREDS file: a usage error naming the variable (exit 2)', async () => {
    const errs: string[] = [];
    const io = { out: () => {}, err: (t: string) => void errs.push(t) };
    expect(await main(['jobs'], { env: { natsUrl: 'http://nats.internal:4222', userName: 'x' }, io })).toBe(2);
    expect(
      await main(['jobs'], { env: { natsUrl: 'nats://127.0.0.1:1', creds: '/no/such.creds', userName: 'x' }, io }),
    ).toBe(2);
    expect(errs[0]).toMatch(/^vigil: NATS_URL: .*http:\/\/nats\.internal:4222/);
    expect(errs[1]).toMatch(/^vigil: NATS_CREDS: .*\/no\/such\.creds/);
  });
});
