import { type ConsumerHandle, createLogger, EventBus, JobRunSchema, schemaForSubject } from '@vigil/shared';
import { collectEvents, type EventCollector, startNats, type TestServer, waitFor } from '@vigil/shared/testing';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handlerResultProblem } from '../src/runner/handler-result.js';
import { outcomeOf } from '../src/runner/run-outcome.js';
import { jobsDir, requestRun, startRunner } from './helpers.js';

/**
 * What a handler returns becomes the run's terminal event, which the runner builds without a schema parse. A
 * result that is not a valid outcome must fail the run (class validation, a message naming the mistake), never
 * publish an event outside the contract that the scheduler's `job.>` consumer would dead-letter.
 */

const g = globalThis as unknown as { handlerResultTest: Record<string, number> };
g.handlerResultTest = {};

/** A module handler returning `result` (JS source), counting its calls. */
const returning = (name: string, result: string) =>
  `export default { async run(ctx) {
    globalThis.handlerResultTest[${JSON.stringify(name)}] = (globalThis.handlerResultTest[${JSON.stringify(name)}] ?? 0) + 1;
    return ${result};
  } };`;

const cases: { job: string; result: string; message: string }[] = [
  {
    job: 'status-ok',
    result: `{ status: 'ok' }`,
    message: 'handler returned status "ok"; expected succeeded, partial or failed',
  },
  {
    job: 'details-string',
    result: `{ details: 'x' }`,
    message: 'handler returned details "x" (a string); expected an object of named values, e.g. { rows: 12 }',
  },
  {
    job: 'details-array',
    result: `{ details: [1, 2] }`,
    message: 'handler returned details [1,2] (an array); expected an object of named values, e.g. { rows: 12 }',
  },
  {
    job: 'details-bigint',
    result: `{ details: { rows: 12n } }`,
    message: 'handler returned details that cannot be written as JSON: Do not know how to serialize a BigInt',
  },
  {
    job: 'targets-string',
    result: `{ targets: 'a,b' }`,
    message: 'handler returned targets "a,b" (a string); expected an array of { target, ok, error? }',
  },
  {
    job: 'target-ok-string',
    result: `{ targets: [{ target: 'a', ok: 'yes' }] }`,
    message: 'handler returned targets[0].ok "yes" (a string); expected true or false',
  },
  {
    job: 'target-name-missing',
    result: `{ targets: [{ name: 'a', ok: true }] }`,
    message: "handler returned targets[0].target undefined; expected the target's name (a non-empty string)",
  },
  {
    job: 'stats',
    result: `{ stats: { targets: 1, succeeded: 1, failed: 0, skipped: 0 } }`,
    message:
      'handler returned a field "stats"; a result has only status, targets and details (stats and failures are ' +
      'computed from targets: [{ target, ok, error? }]; to fail the run, throw)',
  },
  {
    job: 'not-an-object',
    result: `'done'`,
    message: 'handler returned "done" (a string); expected nothing or an object { status?, targets?, details? }',
  },
  {
    job: 'returns-false',
    result: 'false',
    message: 'handler returned false (a boolean); expected nothing or an object { status?, targets?, details? }',
  },
];

describe('what a handler returns', () => {
  let nats: TestServer;
  let nc: NatsConnection;
  let service: Awaited<ReturnType<typeof startRunner>>;
  let bus: EventBus;
  let history: ConsumerHandle;
  /** Every `job.*` event the scheduler-like consumer below accepted (its schema check passed). */
  const accepted: string[] = [];
  let dlq: EventCollector;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    const modules: Record<string, string> = {
      'nothing.mjs': returning('nothing', 'undefined'),
      'returns-null.mjs': returning('returns-null', 'null'),
      'partial.mjs': returning(
        'partial',
        `{ targets: ctx.targets.map((t) => ({ target: t, ok: t !== 'b', error: t === 'b' ? new Error('b is down') : undefined, details: { t } })), details: { checked: ctx.targets.length } }`,
      ),
      'failed.mjs': returning('failed', `{ status: 'failed', details: { why: 'upstream said no' } }`),
    };
    let yaml = 'jobs:\n';
    for (const c of cases) {
      modules[`${c.job}.mjs`] = returning(c.job, c.result);
      yaml += `  ${c.job}:\n    handler: module:./${c.job}.mjs\n    retries: { max: 3, base: 10ms }\n`;
    }
    yaml += '  nothing:\n    handler: module:./nothing.mjs\n    targets: [a, b]\n';
    yaml += '  nothing-plain:\n    handler: module:./nothing.mjs\n';
    yaml += '  returns-null:\n    handler: module:./returns-null.mjs\n';
    yaml += '  partial:\n    handler: module:./partial.mjs\n    targets: [a, b, c]\n';
    yaml += '  failed:\n    handler: module:./failed.mjs\n    retries: { max: 3, base: 10ms }\n';
    const { file } = jobsDir(yaml, modules);
    service = await startRunner(nats.url, file);
    dlq = collectEvents(nc, 'dlq.>');
    // The scheduler's history consumer in miniature: every `job.>` event, schema-checked by the shared consume
    // (an event on a subject without a schema, or whose data fails it, is dead-lettered to VIGIL_DLQ).
    bus = new EventBus(nc, { service: 'test', logger: createLogger({ service: 'test', level: 'silent' }) });
    history = await bus.consume({
      subject: 'job.>',
      durable: 'test-history',
      handler: async (event) => {
        accepted.push(`${event.type}:${(event.data as { runId: string }).runId}`);
      },
    });
  });

  afterAll(async () => {
    await history?.stop();
    await service?.stop();
    await nc?.close();
    await nats?.stop();
  });

  /** Waits until the consumer has handled every `job.*` event stored so far (acked or dead-lettered). */
  async function consumerCaughtUp(): Promise<void> {
    const jsm = await nc.jetstreamManager();
    await waitFor(async () => {
      const info = await jsm.consumers.info('VIGIL_JOBS', 'test-history');
      return info.num_pending === 0 && info.num_ack_pending === 0;
    }, 10_000);
  }

  async function terminal(job: string, runId: string, status: string) {
    const events = collectEvents(nc, `job.*.${job}`);
    try {
      await requestRun(nc, job, runId);
      const [done] = await events.waitFor(`job.${status}`, 1, 10_000);
      expect(events.events.filter((e) => !e.subject.startsWith('job.requested')).map((e) => e.subject)).toEqual([
        `job.${status}.${job}`,
      ]);
      // What every consumer checks: the subject has a schema, and the data meets the shared JobRunSchema.
      expect(schemaForSubject(done.subject)).toBe(JobRunSchema);
      const parsed = JobRunSchema.safeParse(done.event.data);
      expect(parsed.success, parsed.error?.message).toBe(true);
      await waitFor(() => accepted.includes(`vigil.job.${status}:${runId}`), 10_000);
      return done;
    } finally {
      events.stop();
    }
  }

  for (const c of cases) {
    it(`${c.job}: ${c.result} fails the run with class validation, at once, naming the mistake`, async () => {
      const done = await terminal(c.job, `${c.job}-1`, 'failed');
      const d = done.event.data;
      expect(d).toMatchObject({ runId: `${c.job}-1`, job: c.job, status: 'failed', attempt: 1 });
      expect(d.error).toMatchObject({
        class: 'validation',
        code: 'VIGIL_E_HANDLER_RESULT_INVALID',
        type: 'ValidationError',
        message: c.message,
      });
      expect(d.details).toBeUndefined();
      expect(done.headers['Nats-Msg-Id']).toBe(`${c.job}-1.failed`);
      // validation: not retried (the handler ran once although the job allows 3 retries)
      expect(g.handlerResultTest[c.job]).toBe(1);
    });
  }

  it('a handler that returns nothing (or null) succeeds; its success covers every planned target', async () => {
    const done = await terminal('nothing', 'nothing-1', 'succeeded');
    expect(done.event.data.stats).toEqual({ targets: 2, succeeded: 2, failed: 0, skipped: 0 });
    expect(done.event.data.error).toBeUndefined();
    const plain = await terminal('nothing-plain', 'nothing-plain-1', 'succeeded');
    expect(plain.event.data.stats).toBeUndefined();
    await terminal('returns-null', 'returns-null-1', 'succeeded');
  });

  it('per-target outcomes with a failure still make a partial run listing exactly the failed target', async () => {
    const done = await terminal('partial', 'partial-1', 'partial');
    expect(done.event.data.stats).toEqual({ targets: 3, succeeded: 2, failed: 1, skipped: 0 });
    expect(done.event.data.failures).toEqual([
      { target: 'b', error: expect.objectContaining({ message: 'b is down' }) },
    ]);
    expect(done.event.data.details).toEqual({ checked: 3 });
  });

  it('a valid status of its own is kept (failed with details)', async () => {
    const done = await terminal('failed', 'failed-1', 'failed');
    expect(done.event.data.details).toEqual({ why: 'upstream said no' });
    // the alert still has something to say
    expect(done.event.data.error).toMatchObject({
      code: 'VIGIL_E_HANDLER_FAILED',
      message: 'the handler returned status "failed" without an error (throw one to say why)',
    });
    expect(g.handlerResultTest.failed).toBe(1);
  });

  it('nothing was dead-lettered: every event the runner published met the contract', async () => {
    await consumerCaughtUp();
    expect(dlq.events.map((e) => e.subject)).toEqual([]);
    const jsm = await nc.jetstreamManager();
    expect((await jsm.streams.info('VIGIL_DLQ')).state.messages).toBe(0);
  });
});

describe('handlerResultProblem (the check itself)', () => {
  it('accepts every shape the built-in and example handlers return', () => {
    for (const ok of [
      undefined,
      null,
      {},
      { status: 'succeeded' },
      { status: 'partial', details: { a: 1 } },
      { status: undefined, targets: undefined, details: undefined },
      { details: { exitCode: 0, signal: null, stdoutTail: 'hi', nested: { at: new Date(0) } } },
      { targets: [] },
      {
        targets: [
          { target: 'a', ok: true, error: undefined, details: { ms: 3 } },
          { target: 'b', ok: false },
        ],
      },
      { targets: [{ target: 'a', ok: false, error: new Error('x') }], details: Object.create(null) },
    ]) {
      expect(handlerResultProblem(ok), JSON.stringify(ok)).toBeUndefined();
    }
  });

  it('names what is wrong', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(handlerResultProblem({ details: cyclic })).toMatch(
      /^handler returned details that cannot be written as JSON: Converting circular structure/,
    );
    expect(handlerResultProblem({ details: new Date(0) })).toBe(
      'handler returned details "1970-01-01T00:00:00.000Z" (a Date); expected an object of named values, e.g. { rows: 12 }',
    );
    expect(handlerResultProblem({ status: 1 })).toBe(
      'handler returned status 1 (a number); expected succeeded, partial or failed',
    );
    expect(handlerResultProblem({ status: 'SUCCEEDED' })).toBe(
      'handler returned status "SUCCEEDED"; expected succeeded, partial or failed',
    );
    expect(handlerResultProblem({ targets: [null] })).toBe(
      'handler returned targets[0] null; expected { target, ok, error? }',
    );
    expect(handlerResultProblem({ targets: [{ target: '', ok: true }] })).toBe(
      'handler returned targets[0].target "" (a string); expected the target\'s name (a non-empty string)',
    );
    expect(handlerResultProblem({ ok: false })).toBe(
      'handler returned a field "ok"; a result has only status, targets and details (put extras in details)',
    );
    expect(handlerResultProblem([{ target: 'a', ok: true }])).toBe(
      'handler returned [{"target":"a","ok":true}] (an array); expected nothing or an object { status?, targets?, details? }',
    );
    expect(handlerResultProblem({ details: 'x'.repeat(200) })).toMatch(
      /^handler returned details "x{76}\.\.\. \(a string\)/,
    );
  });

  it('an invalid result fails the run, every planned target with it', () => {
    const out = outcomeOf({ status: 'ok' }, ['a', 'b']);
    expect(out.status).toBe('failed');
    expect(out.error).toMatchObject({ class: 'validation', code: 'VIGIL_E_HANDLER_RESULT_INVALID' });
    expect(out.stats).toEqual({ targets: 2, succeeded: 0, failed: 2, skipped: 0 });
    expect(out.failures?.map((f) => f.target)).toEqual(['a', 'b']);
    expect(outcomeOf(undefined, [])).toEqual({ status: 'succeeded' });
    expect(outcomeOf(null, ['a'])).toMatchObject({ status: 'succeeded', stats: { succeeded: 1 } });
  });
});
