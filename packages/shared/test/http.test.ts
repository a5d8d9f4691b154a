import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createHttpApp,
  createLogger,
  createReadiness,
  createRegistry,
  type ErrorBody,
  ErrorCode,
  PermanentError,
  type Readiness,
  type ReadinessReport,
  requireBearer,
  vigilMetrics,
} from '@vigil/shared';

const logLines: string[] = [];
const destination = new Writable({
  write(chunk, _enc, cb) {
    logLines.push(String(chunk));
    cb();
  },
});

let app: FastifyInstance;
let base: string;
let readiness: Readiness;
let dbUp = true;
let token: string | undefined = 'correct-horse';

beforeAll(async () => {
  const registry = createRegistry();
  vigilMetrics(registry).jobRunsTotal.inc({ job: 'daily', trigger: 'schedule', status: 'succeeded' });
  readiness = createReadiness({ checkTimeoutMs: 200 });
  readiness.addCheck('db', () => {
    if (!dbUp) throw new Error('db down at postgres://app:pg-pass-123@db:5432/app');
  });
  readiness.addCheck('slow', () => new Promise((r) => setTimeout(r, 5)));
  app = createHttpApp({
    service: 'webhooks',
    version: '1.4.0',
    commit: 'abc123',
    logger: createLogger({ service: 'webhooks', destination }),
    registry,
    readiness,
  });
  app.post('/echo', async (request) => ({ size: JSON.stringify(request.body).length }));
  app.post(
    '/typed',
    { schema: { body: { type: 'object', required: ['url'], properties: { url: { type: 'string' } } } } },
    async () => ({ ok: true }),
  );
  app.get('/boom', async () => {
    throw new Error('secret internals');
  });
  app.get('/missing-thing', async () => {
    throw new PermanentError('webhook w1 not found', { code: ErrorCode.WEBHOOK_NOT_FOUND });
  });
  app.get<{ Params: { id: string } }>('/things/:id', async (request) => ({ length: request.params.id.length }));
  app.post('/guarded', { preHandler: requireBearer(() => token) }, async () => ({ done: true }));
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app?.close();
});

const json = (body: unknown) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** The contract error of a response: `{ error: { code, message } }`. */
const errorOf = async (res: Response) => ((await res.json()) as ErrorBody).error;
/** The /health/ready answer. */
const readinessOf = async (res: Response) => (await res.json()) as ReadinessReport;

describe('createHttpApp', () => {
  it('is live always, ready only once running and every check passes', async () => {
    expect((await fetch(`${base}/health/live`)).status).toBe(200);

    let res = await fetch(`${base}/health/ready`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ ready: false, phase: 'starting' });

    readiness.phase = 'running';
    res = await fetch(`${base}/health/ready`);
    expect(res.status).toBe(200);
    const body = await readinessOf(res);
    expect(body.ready).toBe(true);
    expect(body.checks.db).toMatchObject({ ok: true });
    expect(typeof body.checks.slow.latencyMs).toBe('number');

    dbUp = false;
    res = await fetch(`${base}/health/ready`);
    expect(res.status).toBe(503);
    // anyone who reaches the port reads this: no password in it
    expect((await readinessOf(res)).checks.db).toMatchObject({
      ok: false,
      error: 'db down at postgres://app:[REDACTED]@db:5432/app',
    });
    dbUp = true;

    readiness.phase = 'stopping';
    expect((await fetch(`${base}/health/ready`)).status).toBe(503);
    readiness.phase = 'running';
  });

  it('a hung check fails by timeout instead of hanging the probe', async () => {
    readiness.addCheck('hung', () => new Promise(() => {}));
    const res = await fetch(`${base}/health/ready`);
    expect(res.status).toBe(503);
    expect((await readinessOf(res)).checks.hung).toMatchObject({
      ok: false,
      error: expect.stringMatching(/timed out/),
    });
    readiness.addCheck('hung', () => {});
  });

  it('serves Prometheus metrics with vigil_ and default metrics, and the version', async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('vigil_job_runs_total{job="daily",trigger="schedule",status="succeeded"} 1');
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(await (await fetch(`${base}/version`)).json()).toEqual({
      name: 'webhooks',
      version: '1.4.0',
      commit: 'abc123',
    });
  });

  it('answers errors as JSON: 404, 400, 413, 500 without internals, typed errors by class', async () => {
    let res = await fetch(`${base}/nope?x=1`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'VIGIL_E_NOT_FOUND', message: 'no route GET /nope' } });

    res = await fetch(`${base}/typed`, json({ nourl: true }));
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('VIGIL_E_VALIDATION');

    res = await fetch(`${base}/echo`, { ...json(null), body: '{"broken":' });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('VIGIL_E_VALIDATION');

    res = await fetch(`${base}/echo`, json({ blob: 'x'.repeat(2 * 1024 * 1024) }));
    expect(res.status).toBe(413);
    expect((await errorOf(res)).code).toBe('VIGIL_E_BODY_TOO_LARGE');

    res = await fetch(`${base}/echo`, json({ blob: 'x'.repeat(900 * 1024) }));
    expect(res.status).toBe(200);

    // `curl -d '{…}'` without -H 'content-type: application/json', or text/plain: told to send JSON
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      res = await fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': type }, body: '{"a":1}' });
      expect(res.status).toBe(415);
      expect(await errorOf(res)).toEqual({
        code: 'VIGIL_E_VALIDATION',
        message: `send the request body as JSON with content-type: application/json (got ${type})`,
      });
    }

    res = await fetch(`${base}/boom`);
    expect(res.status).toBe(500);
    const body = await res.json();
    expect(body).toEqual({ error: { code: 'VIGIL_E_UNEXPECTED', message: 'internal error' } });
    expect(logLines.some((l) => l.includes('secret internals'))).toBe(true);

    res = await fetch(`${base}/missing-thing`);
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe('VIGIL_E_WEBHOOK_NOT_FOUND');
  });

  it('routes ids of 200 characters; a longer parameter or a bad encoding is refused in the contract shape', async () => {
    let res = await fetch(`${base}/things/${'k'.repeat(200)}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ length: 200 });
    res = await fetch(`${base}/things/${'k'.repeat(2_000)}`);
    expect(res.status).toBe(414);
    expect(await errorOf(res)).toMatchObject({ code: 'VIGIL_E_VALIDATION' });
    res = await fetch(`${base}/things/%E0%A4%A`);
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatchObject({ code: 'VIGIL_E_VALIDATION' });
  });

  it('does not log every request at info', async () => {
    const before = logLines.length;
    for (let i = 0; i < 5; i++) await fetch(`${base}/health/live`);
    expect(logLines.length).toBe(before);
  });
});

describe('requireBearer', () => {
  it('503 while unset, 401 without a token, 403 with a wrong one, 200 with the right one', async () => {
    const call = (auth?: string) =>
      fetch(`${base}/guarded`, { method: 'POST', headers: auth ? { authorization: auth } : {} });

    token = undefined;
    let res = await call('Bearer correct-horse');
    expect(res.status).toBe(503);
    expect((await errorOf(res)).code).toBe('VIGIL_E_API_TOKEN_UNSET');

    token = 'correct-horse';
    res = await call();
    expect(res.status).toBe(401);
    expect((await errorOf(res)).code).toBe('VIGIL_E_UNAUTHORIZED');
    expect((await call('Basic abc')).status).toBe(401);

    res = await call('Bearer correct-horsf');
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe('VIGIL_E_FORBIDDEN');
    expect((await call('Bearer c')).status).toBe(403);

    res = await call('Bearer correct-horse');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ done: true });
  });
});

describe('while the HTTP server closes', () => {
  it('a request on a connection still open gets the contract error shape, 503 VIGIL_E_SHUTTING_DOWN', async () => {
    const { connect } = await import('node:net');
    const closingApp = createHttpApp({
      service: 'closing',
      version: '1',
      logger: createLogger({ service: 'closing', level: 'silent' }),
      registry: createRegistry(),
    });
    let release = () => {};
    const gate = new Promise<void>((r) => (release = r));
    let inSlow = () => {};
    const slowStarted = new Promise<void>((r) => (inSlow = r));
    closingApp.get('/slow', async () => {
      inSlow();
      await gate;
      return { ok: true };
    });
    await closingApp.listen({ port: 0, host: '127.0.0.1' });
    const { port } = closingApp.server.address() as { port: number };
    const sock = connect(port, '127.0.0.1');
    let data = '';
    sock.on('data', (d) => {
      data += d;
    });
    const ended = new Promise((r) => sock.on('close', r));
    sock.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    await slowStarted;
    let inSecond = () => {};
    const secondArrived = new Promise<void>((r) => (inSecond = r));
    closingApp.server.on('request', (req: { url?: string }) => {
      if (req.url === '/version') inSecond();
    });
    const closing = closingApp.close(); // waits for /slow; the busy connection stays open meanwhile
    // a second request on that connection, after close began; /slow is released once the server has it
    sock.write('GET /version HTTP/1.1\r\nHost: x\r\n\r\n');
    await secondArrived;
    release();
    await closing;
    await ended;
    expect(data).toContain('{"ok":true}');
    expect(data).toContain('HTTP/1.1 503');
    expect(data).toContain('{"error":{"code":"VIGIL_E_SHUTTING_DOWN","message":"closing is shutting down"}}');
  });
});
