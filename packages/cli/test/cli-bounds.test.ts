import {
  MAX_TRIGGER_REASON_LENGTH,
  MAX_TRIGGER_REQUESTED_BY_LENGTH,
  MAX_TRIGGER_TARGET_LENGTH,
  MAX_TRIGGER_TARGETS,
} from '@vigil/shared';
import { startNats, type TestServer } from '@vigil/shared/testing';
import { connect, JSONCodec, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliEnv, main } from '../src/index.js';
import { MAX_CELL_WIDTH } from '../src/format.js';

const jc = JSONCodec();

const cli = async (env: CliEnv, ...argv: string[]) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { env, io: { out: (t) => out.push(t), err: (t) => err.push(t) } });
  return { code, out: out.join('\n'), err: err.join('\n') };
};

describe('vigil trigger: the shared bounds of a trigger, a usage error before anything is sent', () => {
  // nothing listens there: a trigger that got as far as connecting would fail with `cannot reach NATS` (exit 1)
  const env: CliEnv = { natsUrl: 'nats://127.0.0.1:1', userName: 'tester' };

  it('a reason over the bound: exit 2 naming --reason and the bound, request or --queue', async () => {
    for (const queue of [[], ['--queue']]) {
      const r = await cli(env, 'trigger', 'daily-reports', ...queue, '--reason', 'x'.repeat(500_000));
      expect(r.code).toBe(2);
      expect(r.err).toBe(`vigil: --reason: must be at most ${MAX_TRIGGER_REASON_LENGTH} characters (got 500000)`);
    }
  });

  it('too many targets, a target too long, a login name too long: exit 2 naming it', async () => {
    const many = Array.from({ length: MAX_TRIGGER_TARGETS + 1 }, (_, i) => ['--target', `t${i}`]).flat();
    const r = await cli(env, 'trigger', 'daily-reports', '--reason', 'x', ...many);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`vigil: --target: at most ${MAX_TRIGGER_TARGETS} targets per trigger`);

    const long = await cli(
      env,
      'trigger',
      'daily-reports',
      '--reason',
      'x',
      '--target',
      'a',
      '--target',
      'b'.repeat(201),
    );
    expect(long).toMatchObject({
      code: 2,
      err: `vigil: --target #2: must be at most ${MAX_TRIGGER_TARGET_LENGTH} characters (got 201)`,
    });

    const user = await cli(
      { ...env, userName: 'u'.repeat(MAX_TRIGGER_REQUESTED_BY_LENGTH) },
      'trigger',
      'j',
      '--reason',
      'x',
    );
    expect(user.code).toBe(2);
    expect(user.err).toMatch(/^vigil: requestedBy .*: must be at most 200 characters \(got 204\)$/);
  });

  it('at the bounds it is sent (and fails only because no NATS is there)', async () => {
    const r = await cli(env, 'trigger', 'daily-reports', '--reason', 'x'.repeat(MAX_TRIGGER_REASON_LENGTH));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cannot reach NATS/);
  });
});

describe('vigil runs: one line per run, whatever its reason or error says', () => {
  let nats: TestServer;
  let nc: NatsConnection;
  let env: CliEnv;
  const huge = `start ${'y'.repeat(500_000)} end`;
  const runs = [
    {
      runId: '01JRUNFAILEDMULTILINE00000',
      job: 'cmd-job',
      trigger: 'schedule',
      status: 'failed',
      scheduledAt: '2026-03-01T10:00:00.000Z',
      durationMs: 120,
      error: {
        type: 'CommandFailed',
        class: 'permanent',
        message: 'command exited with 3: boom-failing\nstdout: (none)',
      },
    },
    {
      runId: '01JRUNHUGEREASON0000000000',
      job: 'cmd-job',
      trigger: 'manual',
      status: 'succeeded',
      scheduledAt: '2026-03-01T11:00:00.000Z',
      durationMs: 50,
      reason: huge,
    },
    {
      runId: '01JRUNCRLF0000000000000000',
      job: 'cmd-job',
      trigger: 'manual',
      status: 'succeeded',
      scheduledAt: '2026-03-01T12:00:00.000Z',
      reason: 'line one\r\n\r\nline\ttwo',
    },
  ];

  beforeAll(async () => {
    nats = await startNats({ jetstream: false });
    nc = await connect({ servers: nats.url });
    // a stand-in scheduler answering `scheduler.runs`
    nc.subscribe('scheduler.runs', { callback: (_e, m) => m.respond(jc.encode({ runs })) });
    await nc.flush();
    env = { natsUrl: nats.url, userName: 'tester' };
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
  });

  it('newlines shown as ⏎, long text cut with …; --json keeps every character', async () => {
    const r = await cli(env, 'runs');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines).toHaveLength(1 + runs.length); // header + one line per run
    expect(lines[0]).toMatch(/^RUN\s+JOB\s+TRIGGER\s+STATUS/);
    expect(lines[1]).toMatch(/^01JRUNFAILEDMULTILINE00000 .* command exited with 3: boom-failing ⏎ stdout: \(none\)$/);
    expect(lines[2]).toMatch(/^01JRUNHUGEREASON0000000000 .* start y+…$/);
    expect(lines[2].split(/\s{2,}/).at(-1)).toHaveLength(MAX_CELL_WIDTH);
    expect(lines[3]).toMatch(/ line one ⏎ line two$/);
    for (const line of lines) expect(line.length).toBeLessThan(250);

    const json = await cli(env, '--json', 'runs');
    expect(JSON.parse(json.out)).toEqual(runs);
  });
});
