import { readFileSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { makeEnvelope } from '@vigil/shared';
import {
  collectEvents,
  type HttpReceiver,
  startHttpReceiver,
  startNats,
  type TestServer,
  waitFor,
} from '@vigil/shared/testing';
import { connect, headers, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobsDir, requestRun, startRunner } from './helpers.js';

/** Whether a process is still running (a zombie nobody reaped yet counts as gone). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const LEAKY_KEY = 'Ak-7f3c9e-upstream-key';
const g = globalThis as unknown as { vigilTest: Record<string, number> };
g.vigilTest = {};

const modules = {
  'slow.mjs': `export default { async run(ctx) {
    await new Promise((resolve, reject) => { const t = setTimeout(resolve, ctx.options.ms); ctx.signal.addEventListener('abort', () => { clearTimeout(t); reject(ctx.signal.reason); }); });
    return { details: { slept: ctx.options.ms } };
  } };`,
  'flaky.mjs': `import { TransientError } from '@vigil/shared';
  export default { async run(ctx) {
    globalThis.vigilTest.flaky = (globalThis.vigilTest.flaky ?? 0) + 1;
    if (ctx.attempt < 3) throw Object.assign(new Error('upstream 503'), { status: 503 });
    return { targets: ctx.targets.map((t) => ({ target: t, ok: t !== 'bad', error: t === 'bad' ? new Error('nope') : undefined })) };
  } };`,
  // A module in a jobs folder imports nothing: the context carries the error classes.
  'typed.mjs': `export default { async run(ctx) {
    globalThis.vigilTest[ctx.job] = (globalThis.vigilTest[ctx.job] ?? 0) + 1;
    if (ctx.options.fail === 'permanent') throw new ctx.errors.PermanentError('account closed');
    if (ctx.attempt < 2) throw new ctx.errors.TransientError('upstream busy');
  } };`,
  'forgetful.mjs': `export default { async run(ctx) { return { targets: [{ target: ctx.targets[0], ok: true }] }; } };`,
  'echo.mjs': `export default { async run(ctx) { return { details: { attempt: ctx.attempt, keyLength: ctx.options.key.length } }; } };`,
  'throwing.mjs': `export default {
    validate() { throw new Error('throwing: bad configuration'); },
    async run() { globalThis.vigilTest.throwing = (globalThis.vigilTest.throwing ?? 0) + 1; },
  };`,
  'strict.mjs': `export default {
    validate(ctx) { if (!ctx.options.token) return 'module.token is required'; },
    async run() { globalThis.vigilTest.strict = (globalThis.vigilTest.strict ?? 0) + 1; },
  };`,
};

describe('runner behaviour', () => {
  let nats: TestServer;
  let nc: NatsConnection;
  let receiver: HttpReceiver;
  let service: Awaited<ReturnType<typeof startRunner>>;
  let jobsFile: string;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    receiver = await startHttpReceiver((req) => {
      if (req.url === '/missing') return { status: 404 };
      // An upstream that echoes the rejected key in its error body, as many do.
      if (req.url?.startsWith('/leaky')) return { status: 403, body: `invalid api key ${LEAKY_KEY}` };
      return { status: 200, body: { ok: true } };
    });
    // A stand-in for the secrets service's request/reply endpoint (contract §4: secrets.get).
    nc.subscribe('secrets.get', {
      callback: (_e, m) => {
        const { name } = JSON.parse(new TextDecoder().decode(m.data));
        if (name === 'flaky-key') g.vigilTest.flakySecret = (g.vigilTest.flakySecret ?? 0) + 1;
        if (name === 'flaky-key' && g.vigilTest.flakySecret <= 2) {
          // The secrets service briefly unavailable (its error reply), twice.
          const h = headers();
          h.set('Nats-Service-Error-Code', '503');
          h.set('Nats-Service-Error', 'backend unavailable');
          m.respond(new Uint8Array(), { headers: h });
          return;
        }
        if (name === 'flaky-key') {
          m.respond(
            new TextEncoder().encode(
              JSON.stringify({ name, value: 'fk-1', stale: false, ageSeconds: 1, source: 'file' }),
            ),
          );
          return;
        }
        const value = name === 'upstream-key' ? LEAKY_KEY : undefined;
        m.respond(
          new TextEncoder().encode(JSON.stringify({ name, value, stale: false, ageSeconds: 1, source: 'file' })),
        );
      },
    });
    const { file } = jobsDir(
      `jobs:
  quick:
    handler: module:./slow.mjs
    module: { ms: 1 }
  long:
    handler: module:./slow.mjs
    module: { ms: 600 }
  cancellable:
    handler: module:./slow.mjs
    concurrency: replace
    module: { ms: 20000 }
  flaky:
    handler: module:./flaky.mjs
    targets: [good, bad]
    retries: { max: 3, backoff: exponential, base: 10ms, cap: 50ms }
  typed-transient:
    handler: module:./typed.mjs
    retries: { max: 3, base: 10ms }
  typed-permanent:
    handler: module:./typed.mjs
    retries: { max: 3, base: 10ms }
    module: { fail: permanent }
  forgetful:
    handler: module:./forgetful.mjs
    targets: [acme, globex, initech]
  strict:
    handler: module:./strict.mjs
    retries: { max: 3, base: 10ms }
  throwing:
    handler: module:./throwing.mjs
    retries: { max: 3, base: 10ms }
  secret-flaky:
    handler: module:./echo.mjs
    retries: { max: 3, base: 10ms, cap: 20ms }
    module: { key: "\${secret:flaky-key}" }
  ping:
    handler: http
    http: { url: "${receiver.url}/ping", method: POST, body: { hello: world } }
  missing:
    handler: http
    retries: { max: 3, base: 10ms }
    http: { url: "${receiver.url}/missing" }
  shell-ok:
    handler: command
    command: { run: [node, -e, "console.log('hi from ' + process.env.VIGIL_JOB)"] }
  shell-env:
    handler: command
    command:
      run: [node, -e, "console.log([process.env.NATS_PASSWORD ?? 'no-nats-password', process.env.VIGIL_API_TOKEN ?? 'no-token', process.env.PATH ? 'path' : 'no-path', process.env.MINE].join(' '))"]
      env: { MINE: from-the-job }
  shell-bad:
    handler: command
    retries: { max: 0 }
    command: { run: [node, -e, "console.error('disk full'); process.exit(3)"] }
  shell-crash:
    handler: command
    retries: { max: 0 }
    command: { run: [node, -e, "function connect(){ throw new Error('payments DB refused connection') } connect()"] }
  shell-fork:
    handler: command
    retries: { max: 0 }
    command: { run: "sh -c 'echo $$ > grandchild.pid; exec sleep 9999'; echo never", timeout: 1000 }
  http-leaky:
    handler: http
    retries: { max: 0 }
    http: { url: "${receiver.url}/leaky/v1?api_key=\${secret:upstream-key}&page=2#top" }
  shell-leaky:
    handler: command
    retries: { max: 0 }
    command:
      run: [node, -e, "console.log('key ' + process.env.KEY); console.error('rejected ' + process.env.KEY); process.exit(2)"]
      env: { KEY: "\${secret:upstream-key}" }
  shell-leaky-ok:
    handler: command
    command: { run: [node, -e, "console.log('key ' + process.env.KEY)"], env: { KEY: "\${secret:upstream-key}" } }
`,
      modules,
    );
    jobsFile = file;
    service = await startRunner(nats.url, file);
  });

  afterAll(async () => {
    await service?.stop();
    await receiver?.close();
    await nc?.close();
    await nats?.stop();
  });

  it('publishes only the terminal event for a short run, with startedAt/finishedAt/durationMs', async () => {
    const events = collectEvents(nc, 'job.*.quick');
    await requestRun(nc, 'quick', 'q-1');
    const [done] = await events.waitFor('job.succeeded');
    const d = done.event.data;
    expect(d).toMatchObject({ runId: 'q-1', job: 'quick', status: 'succeeded', attempt: 1, trigger: 'manual' });
    expect(Date.parse(d.finishedAt) - Date.parse(d.startedAt)).toBe(d.durationMs);
    expect(done.headers['Nats-Msg-Id']).toBe('q-1.succeeded');
    expect(events.of('job.started')).toHaveLength(0);
    expect(done.event).toMatchObject({ specversion: '1.0', source: 'vigil/reports', type: 'vigil.job.succeeded' });
  });

  it('publishes job.started once a run outlives the threshold', async () => {
    const events = collectEvents(nc, 'job.*.long');
    await requestRun(nc, 'long', 'l-1');
    const [started] = await events.waitFor('job.started');
    const [done] = await events.waitFor('job.succeeded');
    expect(started.event.data.startedAt).toBe(done.event.data.startedAt);
    expect(events.events.map((e) => e.subject).filter((s) => !s.startsWith('job.requested'))).toEqual([
      'job.started.long',
      'job.succeeded.long',
    ]);
  });

  it('cancels a running run on job.cancel.<job> with error type cancelled', async () => {
    const events = collectEvents(nc, 'job.*.cancellable');
    await requestRun(nc, 'cancellable', 'c-1');
    await events.waitFor('job.started');
    const env = makeEnvelope('scheduler', 'job.cancel.cancellable', {
      runId: 'c-1',
      job: 'cancellable',
      reason: 'replaced by c-2',
    });
    await nc.jetstream().publish('job.cancel.cancellable', new TextEncoder().encode(JSON.stringify(env)));
    const [failed] = await events.waitFor('job.failed', 1, 5_000);
    expect(failed.event.data.error).toMatchObject({ type: 'cancelled', code: 'VIGIL_E_RUN_CANCELLED' });
    expect(failed.event.data.durationMs).toBeLessThan(10_000);
  });

  it('retries retryable failures with backoff and derives partial from per-target outcomes', async () => {
    const events = collectEvents(nc, 'job.*.flaky');
    await requestRun(nc, 'flaky', 'f-1');
    const [partial] = await events.waitFor('job.partial', 1, 10_000);
    expect(partial.event.data.attempt).toBe(3);
    expect(g.vigilTest.flaky).toBe(3);
    expect(partial.event.data.stats).toEqual({ targets: 2, succeeded: 1, failed: 1, skipped: 0 });
    expect(partial.event.data.failures).toEqual([
      { target: 'bad', error: expect.objectContaining({ message: 'nope' }) },
    ]);
  });

  it('a module throws typed errors through ctx.errors: transient is retried, permanent is not', async () => {
    const events = collectEvents(nc, 'job.>');
    await requestRun(nc, 'typed-transient', 'tt-1');
    await requestRun(nc, 'typed-permanent', 'tp-1');
    const [ok] = await events.waitFor('job.succeeded.typed-transient', 1, 10_000);
    expect(ok.event.data.attempt).toBe(2);
    const [failed] = await events.waitFor('job.failed.typed-permanent', 1, 10_000);
    expect(failed.event.data).toMatchObject({ attempt: 1, error: { type: 'PermanentError', class: 'permanent' } });
    expect(g.vigilTest['typed-permanent']).toBe(1);
  });

  it('runs only the requested subset of targets (a backup run)', async () => {
    const events = collectEvents(nc, 'job.*.flaky');
    g.vigilTest.flaky = 0;
    await requestRun(nc, 'flaky', 'f-2', { targets: ['good'], trigger: 'backup' });
    const [done] = await events.waitFor('job.succeeded', 1, 10_000);
    expect(done.event.data).toMatchObject({
      trigger: 'backup',
      targets: ['good'],
      stats: { targets: 1, succeeded: 1, failed: 0, skipped: 0 },
    });
  });

  it('a target the handler silently skipped makes the run partial, naming the target (seed 003)', async () => {
    const events = collectEvents(nc, 'job.*.forgetful');
    await requestRun(nc, 'forgetful', 'fg-1');
    const [partial] = await events.waitFor('job.partial', 1, 10_000);
    expect(partial.event.data.stats).toEqual({ targets: 3, succeeded: 1, failed: 2, skipped: 0 });
    expect(partial.event.data.failures).toEqual([
      { target: 'globex', error: expect.objectContaining({ code: 'VIGIL_E_TARGET_NOT_REPORTED' }) },
      { target: 'initech', error: expect.objectContaining({ code: 'VIGIL_E_TARGET_NOT_REPORTED' }) },
    ]);
    expect(events.of('job.succeeded')).toHaveLength(0);
  });

  it('fails fast with class validation before any side effect, without retrying', async () => {
    const events = collectEvents(nc, 'job.*.strict');
    await requestRun(nc, 'strict', 's-1');
    const [failed] = await events.waitFor('job.failed');
    expect(failed.event.data.error).toMatchObject({ class: 'validation', message: 'module.token is required' });
    expect(failed.event.data.attempt).toBe(1);
    expect(g.vigilTest.strict).toBeUndefined();
  });

  it('a validate() that throws a plain Error fails at once with class validation, without retrying', async () => {
    const events = collectEvents(nc, 'job.*.throwing');
    await requestRun(nc, 'throwing', 'th-1');
    const [failed] = await events.waitFor('job.failed');
    expect(failed.event.data.error).toMatchObject({
      class: 'validation',
      code: 'VIGIL_E_VALIDATION',
      message: 'throwing: bad configuration',
    });
    expect(failed.event.data.attempt).toBe(1);
    expect(g.vigilTest.throwing).toBeUndefined();
  });

  it("retries a secrets service that is briefly unavailable before the handler, per the job's retries", async () => {
    const events = collectEvents(nc, 'job.*.secret-flaky');
    await requestRun(nc, 'secret-flaky', 'sf-1');
    const [done] = await events.waitFor('job.succeeded', 1, 10_000);
    expect(g.vigilTest.flakySecret).toBe(3);
    expect(done.event.data.attempt).toBe(3);
    expect(done.event.data.details).toEqual({ attempt: 3, keyLength: 4 });
  });

  it('fails a request for a job the jobs file does not know with class validation', async () => {
    const events = collectEvents(nc, 'job.*.ghost');
    await requestRun(nc, 'ghost', 'g-1');
    const [failed] = await events.waitFor('job.failed');
    expect(failed.event.data.error).toMatchObject({ class: 'validation', code: 'VIGIL_E_JOB_NOT_FOUND' });
  });

  it('dead-letters a request whose payload is not valid run data', async () => {
    const dlq = collectEvents(nc, 'dlq.>');
    await nc.jetstream().publish('job.requested.quick', new TextEncoder().encode('{"nope": true}'));
    const [dead] = await dlq.waitFor('dlq.job.requested.quick');
    expect(dead.headers['Vigil-Error-Class']).toBe('validation');
    // a job name that cannot be a subject token would make every event of the run unpublishable
    const env = makeEnvelope('scheduler', 'job.requested.quick', {
      runId: 'bad-token-1',
      job: 'a b',
      attempt: 1,
      trigger: 'manual',
      scheduledAt: new Date().toISOString(),
      status: 'requested',
    });
    await nc.jetstream().publish('job.requested.quick', new TextEncoder().encode(JSON.stringify(env)));
    const both = await dlq.waitFor('dlq.job.requested.quick', 2);
    expect(both[1].headers['Vigil-Error']).toMatch(/not a subject token/);
  });

  it('waits for notBefore before starting', async () => {
    const events = collectEvents(nc, 'job.*.quick');
    const notBefore = new Date(Date.now() + 800).toISOString();
    await requestRun(nc, 'quick', 'q-later', { notBefore });
    const [done] = await events.waitFor('job.succeeded', 1, 5_000);
    expect(Date.parse(done.event.data.startedAt)).toBeGreaterThanOrEqual(Date.parse(notBefore));
  });

  it('http: 2xx succeeds; 404 fails permanently without retries', async () => {
    const events = collectEvents(nc, 'job.>');
    await requestRun(nc, 'ping', 'p-1');
    await requestRun(nc, 'missing', 'm-1');
    const [ok] = await events.waitFor('job.succeeded.ping');
    const [bad] = await events.waitFor('job.failed.missing');
    expect(ok.event.data.details.status).toBe(200);
    const ping = receiver.requests.find((r) => r.url === '/ping');
    expect(JSON.parse(ping?.body ?? '{}')).toEqual({ hello: 'world' });
    expect(bad.event.data.error).toMatchObject({ class: 'permanent' });
    expect(bad.event.data.attempt).toBe(1);
    expect(receiver.requests.filter((r) => r.url === '/missing')).toHaveLength(1);
  });

  it('command: exit 0 succeeds with output; a failing command reports the tail of stderr', async () => {
    const events = collectEvents(nc, 'job.>');
    await requestRun(nc, 'shell-ok', 'sh-1');
    await requestRun(nc, 'shell-bad', 'sh-2');
    const [ok] = await events.waitFor('job.succeeded.shell-ok');
    const [bad] = await events.waitFor('job.failed.shell-bad');
    expect(ok.event.data.details.stdoutTail).toContain('hi from shell-ok');
    expect(bad.event.data.error.message).toContain('disk full');
    expect(bad.event.data.error.message).toContain('exited with 3');
  });

  it('command: a crash quotes its error line, which Node prints before the stack frames, and the tail', async () => {
    const events = collectEvents(nc, 'job.*.shell-crash');
    await requestRun(nc, 'shell-crash', 'crash-1');
    const [failed] = await events.waitFor('job.failed', 1, 8_000);
    expect(failed.event.data.error).toMatchObject({ class: 'transient', code: 'VIGIL_E_COMMAND_FAILED' });
    const message: string = failed.event.data.error.message;
    expect(message).toMatch(/^command exited with 1: Error: payments DB refused connection\n {4}at connect \(/);
    expect(message).toMatch(/\nNode\.js v\d+[^\n]*\nstdout: \(none\)$/);
  });

  it('command: a timeout kills what the shell forked too, and the run fails with a timeout error', async () => {
    const events = collectEvents(nc, 'job.*.shell-fork');
    const started = Date.now();
    await requestRun(nc, 'shell-fork', 'fork-1');
    const [failed] = await events.waitFor('job.failed', 1, 8_000);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(failed.event.data.error).toMatchObject({ class: 'transient', code: 'VIGIL_E_TIMEOUT' });
    expect(failed.event.data.error.message).toContain('timed out after 1000 ms');
    const pid = Number(readFileSync(path.join(path.dirname(jobsFile), 'grandchild.pid'), 'utf8'));
    expect(pid).toBeGreaterThan(0);
    await waitFor(() => !processAlive(pid), 3_000);
  });

  it("command: inherits the runner's environment but not Vigil's own credentials", async () => {
    const saved = { NATS_PASSWORD: process.env.NATS_PASSWORD, VIGIL_API_TOKEN: process.env.VIGIL_API_TOKEN };
    process.env.NATS_PASSWORD = 'nats-pw-of-the-runner';
    process.env.VIGIL_API_TOKEN = 'api-token-of-the-runner';
    try {
      const events = collectEvents(nc, 'job.*.shell-env');
      await requestRun(nc, 'shell-env', 'env-1');
      const [ok] = await events.waitFor('job.succeeded.shell-env');
      expect(ok.event.data.details.stdoutTail).toBe('no-nats-password no-token path from-the-job\n');
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('http: a failure names the URL without its query, and no secret reaches the event', async () => {
    const events = collectEvents(nc, 'job.>');
    await requestRun(nc, 'http-leaky', 'hl-1');
    const [bad] = await events.waitFor('job.failed.http-leaky');
    expect(receiver.requests.some((r) => r.url === `/leaky/v1?api_key=${LEAKY_KEY}&page=2`)).toBe(true);
    const error = bad.event.data.error;
    expect(error).toMatchObject({ class: 'permanent', code: 'VIGIL_E_HTTP_STATUS' });
    expect(error.message).toBe(`HTTP 403 from ${receiver.url}/leaky/v1: invalid api key [REDACTED]`);
    const all = JSON.stringify(bad.event);
    for (const leaked of [LEAKY_KEY, 'api_key', 'page=2', '#top']) expect(all).not.toContain(leaked);
  });

  it('command: a secret printed to stdout/stderr reaches neither the error (message, stack) nor the details', async () => {
    const events = collectEvents(nc, 'job.>');
    await requestRun(nc, 'shell-leaky', 'sl-1');
    await requestRun(nc, 'shell-leaky-ok', 'sl-2');
    const [bad] = await events.waitFor('job.failed.shell-leaky');
    const [ok] = await events.waitFor('job.succeeded.shell-leaky-ok');
    const error = bad.event.data.error;
    expect(error.message).toContain('exited with 2');
    expect(error.message).toContain('rejected [REDACTED]');
    expect(error.stack).toContain('rejected [REDACTED]');
    expect(ok.event.data.details.stdoutTail).toBe('key [REDACTED]\n');
    for (const e of [bad, ok]) expect(JSON.stringify(e.event)).not.toContain(LEAKY_KEY);
  });

  it('picks up a job added to the jobs file while running', async () => {
    const events = collectEvents(nc, 'job.*.added-later');
    const text = readFileSync(jobsFile, 'utf8');
    writeFileSync(jobsFile, `${text}  added-later:\n    handler: module:./slow.mjs\n    module: { ms: 1 }\n`);
    await requestRun(nc, 'added-later', 'al-1');
    const [done] = await events.waitFor('job.succeeded', 1, 5_000);
    expect(done.event.data.runId).toBe('al-1');
  });
});

describe('run log lines', () => {
  it("carry the run id, the request's correlation id and its trace id", async () => {
    const nats = await startNats();
    const nc = await connect({ servers: nats.url });
    const lines: Record<string, unknown>[] = [];
    const logDestination = new Writable({
      write(chunk, _enc, cb) {
        for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l));
        cb();
      },
    });
    const { file } = jobsDir(
      `jobs:\n  broken:\n    handler: command\n    retries: { max: 0 }\n    command: { run: [node, -e, "process.exit(3)"] }\n`,
      {},
    );
    const service = await startRunner(nats.url, file, { LOG_LEVEL: 'warn' }, { logDestination });
    try {
      const events = collectEvents(nc, 'job.*.broken');
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      await requestRun(nc, 'broken', 'log-1', {
        headers: { 'Vigil-Correlation-Id': 'corr-log-1', traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      });
      await events.waitFor('job.failed');
      const line = await waitFor(() => lines.find((l) => l.runId === 'log-1'));
      expect(line).toMatchObject({ service: 'reports', runId: 'log-1', correlationId: 'corr-log-1', traceId });
    } finally {
      await service.stop();
      await nc.close();
      await nats.stop();
    }
  });

  // Live walkthrough: an http job timing out failed at once with "TypeError: Cannot set property message of  which
  // has only a getter": logging the retry (its cause, fetch's DOMException TimeoutError) threw inside the logger.
  it('an http job that times out is retried as a timeout, each retry logged, and fails as one', async () => {
    const nats = await startNats();
    const nc = await connect({ servers: nats.url });
    const hang = net.createServer(() => undefined); // accepts, never answers
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    const port = (hang.address() as AddressInfo).port;
    const lines: Record<string, unknown>[] = [];
    const logDestination = new Writable({
      write(chunk, _enc, cb) {
        for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l));
        cb();
      },
    });
    const { file } = jobsDir(
      `jobs:\n  slow-api:\n    handler: http\n    retries: { max: 2, backoff: fixed, base: 10ms }\n    http: { url: "http://127.0.0.1:${port}/x", timeout: 200ms }\n`,
      {},
    );
    const service = await startRunner(nats.url, file, { LOG_LEVEL: 'warn' }, { logDestination });
    try {
      const events = collectEvents(nc, 'job.*.slow-api');
      await requestRun(nc, 'slow-api', 'slow-1');
      const [failed] = await events.waitFor('job.failed', 1, 10_000);
      expect(failed.event.data).toMatchObject({ runId: 'slow-1', attempt: 3 });
      expect(failed.event.data.error).toMatchObject({ class: 'transient', code: 'VIGIL_E_TIMEOUT' });
      expect(failed.event.data.error.message).toBe(`GET http://127.0.0.1:${port}/x timed out`);
      const retries = lines.filter((l) => l.runId === 'slow-1' && String(l.msg).startsWith('run failed, retry'));
      expect(retries).toHaveLength(2);
      expect(retries[0].err).toMatchObject({ message: expect.stringContaining('timed out') });
    } finally {
      await service.stop();
      await nc.close();
      await nats.stop();
      hang.close();
    }
  });
});
