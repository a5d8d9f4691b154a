import { Writable } from 'node:stream';
import { connect, JSONCodec, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  baseEnvSchema,
  ConfigError,
  type ErrorBody,
  ErrorCode,
  type ReadinessReport,
  requireBearer,
  runService,
  type ServiceHandle,
} from '@vigil/shared';
import { collectEvents, freePort, startNats, type TestServer, waitFor } from '@vigil/shared/testing';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, destination };
}

function gate() {
  let open: () => void = () => {};
  const promise = new Promise<void>((r) => {
    open = r;
  });
  return { promise, open };
}

/** What /health/ready and /health/live of a runService service answer: with the instance that answered. */
type ReadyAnswer = ReadinessReport & { instance: string };
type LiveAnswer = { live: boolean; service: string; instance: string };

const demoSchema = baseEnvSchema.extend({ DEMO_API_TOKEN: z.string().optional() });

let nats: TestServer;
let client: NatsConnection;

beforeAll(async () => {
  nats = await startNats();
  client = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
});
afterAll(async () => {
  await client?.close();
  await nats?.stop();
});

describe('runService', () => {
  it('starts in logged phases, is 503 until start-up finished and while stopping, 200 in between', async () => {
    const logs = capture();
    const warm = gate();
    const shutdownGate = gate();
    const hookCalls: string[] = [];
    let origin = '';
    const opsEvents = collectEvents(client, 'service.>');
    const starting = runService({
      name: 'demo',
      version: '1.2.3',
      configSchema: demoSchema,
      env: { NATS_URL: nats.url, HTTP_PORT: '0', DEMO_API_TOKEN: 'tok-123', VIGIL_COMMIT: 'c0ffee' },
      defaultPort: 8099,
      handleSignals: false,
      logDestination: logs.destination,
      start: async (rt) => {
        rt.phase('demo routes');
        rt.http.post('/api/do', { preHandler: requireBearer(rt.config.DEMO_API_TOKEN) }, async () => ({ ok: 1 }));
        rt.http.post('/api/unset', { preHandler: requireBearer(undefined) }, async () => ({ ok: 1 }));
        rt.http.post('/echo', async (req) => ({ got: typeof req.body }));
        rt.onShutdown(() => void hookCalls.push('first'));
        rt.onShutdown(async () => {
          hookCalls.push('second');
          await shutdownGate.promise;
        });
      },
      warmUp: async (rt) => {
        origin = rt.http.listeningOrigin;
        await warm.promise;
      },
    });

    await waitFor(() => origin);
    const early = await fetch(`${origin}/health/ready`);
    expect(early.status).toBe(503);
    expect(await early.json()).toMatchObject({ ready: false, phase: 'starting' });
    expect((await fetch(`${origin}/health/live`)).status).toBe(200);

    warm.open();
    const svc: ServiceHandle = await starting;
    expect(svc.url).toBe(origin);
    expect(svc.ready).toBe(true);

    const ready = await fetch(`${svc.url}/health/ready`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as ReadyAnswer;
    expect(body).toMatchObject({ ready: true, checks: { nats: { ok: true } } });
    // which process answered (a port can be taken by another): `<host>-<pid>-<hex>`, the instance NATS answers name
    expect(body.instance).toMatch(new RegExp(`-${process.pid}-[0-9a-f]{4}$`));
    expect(((await (await fetch(`${svc.url}/health/live`)).json()) as LiveAnswer).instance).toBe(body.instance);

    const messages = logs.lines.filter((l) => l.phase || l.component === 'nats').map((l) => String(l.msg));
    const order = ['config ok', 'nats connected', 'streams ready', 'nats service vigil-demo', 'demo routes'];
    order.push(`listening on ${svc.url}`, 'ready');
    const idx = order.map((m) => messages.findIndex((x) => x.startsWith(m)));
    expect(idx.every((i) => i >= 0)).toBe(true);
    expect([...idx].sort((a, b) => a - b)).toEqual(idx);
    expect(logs.lines.every((l) => l.service === 'demo' && l.version === '1.2.3')).toBe(true);

    // The NATS micro-service answers this instance's readiness.
    const reply = await client.request('vigil.health.demo', undefined, { timeout: 2_000 });
    expect(JSONCodec().decode(reply.data)).toMatchObject({ service: 'demo', version: '1.2.3', ready: true });

    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    expect(metrics).toContain('vigil_breaker_state');
    expect(metrics).toContain('process_resident_memory_bytes');
    expect(await (await fetch(`${svc.url}/version`)).json()).toEqual({
      name: 'demo',
      version: '1.2.3',
      commit: 'c0ffee',
    });

    const big = await fetch(`${svc.url}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ blob: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(big.status).toBe(413);
    expect(((await big.json()) as ErrorBody).error.code).toBe(ErrorCode.BODY_TOO_LARGE);

    const post = (path: string, auth?: string) =>
      fetch(`${svc.url}${path}`, { method: 'POST', headers: auth ? { authorization: auth } : {} });
    expect((await post('/api/unset', 'Bearer tok-123')).status).toBe(503);
    expect((await post('/api/do')).status).toBe(401);
    expect((await post('/api/do', 'Bearer nope')).status).toBe(403);
    expect((await post('/api/do', 'Bearer tok-123')).status).toBe(200);

    // Stopping: readiness goes 503 at once while the shutdown hooks still run.
    const stopped = svc.stop();
    const during = await waitFor(async () => {
      const res = await fetch(`${svc.url}/health/ready`);
      return res.status === 503 ? res.json() : undefined;
    });
    expect(during).toMatchObject({ ready: false, phase: 'stopping' });
    expect(svc.ready).toBe(false);
    await waitFor(() => hookCalls.length === 1);
    expect(hookCalls).toEqual(['second']);
    shutdownGate.open();
    await stopped;
    expect(hookCalls).toEqual(['second', 'first']);
    await expect(fetch(`${svc.url}/health/live`)).rejects.toThrow();
    expect(svc.runtime.nc.isClosed()).toBe(true);
    expect(logs.lines.map((l) => l.msg)).toContain('stopped');
    expect(opsEvents.of('service.started').map((e) => e.event.data)).toMatchObject([{ service: 'demo' }]);
    expect(opsEvents.of('service.stopping').map((e) => e.event.data)).toMatchObject([{ service: 'demo' }]);
    opsEvents.stop();
  });

  it('reports not ready while NATS is down and ready again once it is back', async () => {
    const own = await startNats();
    const svc = await runService({
      name: 'flappy',
      configSchema: baseEnvSchema,
      env: { NATS_URL: own.url, HTTP_PORT: '0', LOG_LEVEL: 'error' },
      defaultPort: 8098,
      handleSignals: false,
      logDestination: capture().destination,
      start: async () => {},
    });
    try {
      expect((await fetch(`${svc.url}/health/ready`)).status).toBe(200);
      await own.kill();
      const down = await waitFor(async () => {
        const res = await fetch(`${svc.url}/health/ready`);
        return res.status === 503 ? (res.json() as Promise<ReadinessReport>) : undefined;
      });
      expect(down.checks.nats.ok).toBe(false);
      // what an alert rule sees at the next scrape
      expect(await (await fetch(`${svc.url}/metrics`)).text()).toContain('vigil_dependency_up{check="nats"} 0');
      await own.restart();
      await waitFor(async () => (await fetch(`${svc.url}/health/ready`)).status === 200, 15_000);
      expect(await (await fetch(`${svc.url}/metrics`)).text()).toContain('vigil_dependency_up{check="nats"} 1');
    } finally {
      await svc.stop();
      await own.stop();
    }
  });

  it('fails with every bad variable named when the config is wrong (exit:false in tests)', async () => {
    const err = await runService({
      name: 'cfg',
      configSchema: baseEnvSchema.extend({ SMTP_URL: z.url() }),
      env: { HTTP_PORT: 'many', LOG_LEVEL: 'chatty' },
      defaultPort: 8097,
      handleSignals: false,
      start: async () => {},
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.map((p) => p.variable).sort()).toEqual(['HTTP_PORT', 'LOG_LEVEL', 'SMTP_URL']);
  });

  it('waits for a NATS that is not there yet: live 200 and ready 503 on its port meanwhile, then ready there', async () => {
    const logs = capture();
    const natsPort = await freePort();
    const httpPort = await freePort();
    const starting = runService({
      name: 'early',
      configSchema: baseEnvSchema,
      env: { NATS_URL: `nats://127.0.0.1:${natsPort}`, HTTP_PORT: String(httpPort) },
      defaultPort: 8096,
      handleSignals: false,
      // the wait for NATS is not timed; what follows it is
      startupTimeoutMs: 600,
      logDestination: logs.destination,
      start: async (rt) => {
        rt.http.get('/api/thing', async () => ({ ok: true }));
      },
    });
    const base = `http://127.0.0.1:${httpPort}`;
    const live = await waitFor(() => fetch(`${base}/health/live`).catch(() => undefined));
    expect(live.status).toBe(200);
    const ready = await fetch(`${base}/health/ready`);
    expect(ready.status).toBe(503);
    const report = (await ready.json()) as ReadinessReport;
    expect(report).toMatchObject({ ready: false, phase: 'starting', checks: { nats: { ok: false } } });
    expect(report.checks.nats.error).toMatch(`waiting for NATS at nats://127.0.0.1:${natsPort} since`);
    // the service's own routes do not exist yet: 503 with a reason, not 404
    const api = await fetch(`${base}/api/thing`);
    expect(api.status).toBe(503);
    expect(((await api.json()) as ErrorBody).error.code).toBe(ErrorCode.STARTING);
    expect((await fetch(`${base}/version`)).status).toBe(200);

    // still waiting well past the start-up timeout, then NATS comes
    await new Promise((r) => setTimeout(r, 1_000));
    const late = await startNats({ port: natsPort });
    try {
      const svc = await starting;
      expect(svc.url).toBe(base);
      expect((await fetch(`${base}/health/ready`)).status).toBe(200);
      expect(await (await fetch(`${base}/api/thing`)).json()).toEqual({ ok: true });
      await svc.stop();
    } finally {
      await late.stop();
    }
  });

  it('a start() that throws aborts start-up and releases what was opened', async () => {
    let rtNc: NatsConnection | undefined;
    const err = await runService({
      name: 'broken',
      configSchema: baseEnvSchema,
      env: { NATS_URL: nats.url, HTTP_PORT: '0', LOG_LEVEL: 'silent' },
      defaultPort: 8095,
      handleSignals: false,
      start: async (rt) => {
        rtNc = rt.nc;
        throw new Error('jobs file unreadable');
      },
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('jobs file unreadable');
    await waitFor(() => rtNc?.isClosed());
  });
});
