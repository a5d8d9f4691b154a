import { connect, JSONCodec, type NatsConnection } from 'nats';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReadiness, registerNatsService, type ServiceHandle, serviceReadiness } from '@vigil/shared';
import { startInstanceWithBreaker, startNats, type TestServer, waitFor } from '@vigil/shared/testing';

const log = pino({ level: 'silent' });
let nats: TestServer;
const conns: NatsConnection[] = [];
const handles: ServiceHandle[] = [];

async function instance(name: string, id: string, healthy: boolean, startedAt?: number): Promise<void> {
  const nc = await connect({ servers: nats.url });
  conns.push(nc);
  const readiness = createReadiness();
  readiness.phase = 'running';
  readiness.addCheck('redis', () => {
    if (!healthy) throw new Error('redis unreachable');
  });
  await registerNatsService(nc, { name, instance: id, version: '1.0.0', readiness, log, startedAt });
  await nc.flush();
}

beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  for (const h of handles) await h.stop();
  for (const nc of conns) await nc.close();
  await nats.stop();
});

describe('readiness of a service with several replicas', () => {
  it('counts every instance and is not ready when one of them is not, naming it', async () => {
    await instance('runner', 'runner-a', true);
    await instance('runner', 'runner-b', false);
    const asker = await connect({ servers: nats.url });
    conns.push(asker);
    const r = await serviceReadiness(asker, 'runner', 1_000);
    expect(r).toMatchObject({ service: 'runner', ready: false, instances: 2 });
    expect(r.error).toBe('1 of 2 instance(s) not ready: runner-b');
    expect(r.checks).toMatchObject({ redis: { ok: false, error: 'redis unreachable' } });

    await instance('mailer', 'mailer-a', true);
    expect(await serviceReadiness(asker, 'mailer', 1_000)).toMatchObject({ ready: true, instances: 1 });
    expect(await serviceReadiness(asker, 'nobody', 300)).toMatchObject({
      ready: false,
      instances: 0,
      error: 'not running (no instance answered)',
    });
  });
});

describe('instances say when they started (startedAt)', () => {
  const T = Date.parse('2026-03-01T10:00:00.000Z');

  /** Asks until `n` instances answered (an answer after the jitter window is not counted on a loaded machine). */
  const all = (asker: NatsConnection, name: string, n: number) =>
    waitFor(async () => {
      const r = await serviceReadiness(asker, name, 1_000, { instances: true });
      return r.instances === n ? r : undefined;
    });

  it('serviceReadiness(…, { instances: true }) gives each start (epoch ms); older answers have none; the default output neither', async () => {
    await instance('clock', 'clock-new', true, T);
    await instance('clock', 'clock-old', true); // a version from before startedAt
    // an answer whose startedAt is no date (it comes over the wire): dropped
    const odd = await connect({ servers: nats.url });
    conns.push(odd);
    const jc = JSONCodec();
    const answer = { service: 'clock', instance: 'clock-odd', version: '1', ready: true, phase: 'running', checks: {} };
    odd.subscribe('vigil.health.clock.each', {
      callback: (_e, m) => m.respond(jc.encode({ ...answer, breakers: [], startedAt: 'yesterday' })),
    });
    await odd.flush();
    const asker = await connect({ servers: nats.url });
    conns.push(asker);

    const r = await all(asker, 'clock', 3);
    expect(r.instanceStarts?.slice().sort((x, y) => x.id.localeCompare(y.id))).toEqual([
      { id: 'clock-new', startedAt: T },
      { id: 'clock-odd' },
      { id: 'clock-old' },
    ]);
    const plain = await serviceReadiness(asker, 'clock', 1_000);
    expect(plain).not.toHaveProperty('instanceStarts');
    expect(await serviceReadiness(asker, 'nobody', 300, { instances: true })).toMatchObject({ instanceStarts: [] });

    // on the wire: ISO 8601 in UTC, and no startedAt at all when the instance was given none
    await instance('clock-one', 'one', true, T);
    const raw = jc.decode((await asker.request('vigil.health.clock-one', undefined, { timeout: 1_000 })).data);
    expect(raw).toMatchObject({ instance: 'one', startedAt: '2026-03-01T10:00:00.000Z' });
    await instance('clock-none', 'none', true);
    const none = jc.decode((await asker.request('vigil.health.clock-none', undefined, { timeout: 1_000 })).data);
    expect(none).not.toHaveProperty('startedAt');
  });

  it('runService answers with the start of its process (not of its registration); a further one in the process with its own', async () => {
    // vitest runs each test file in a process of its own: this is the process's first runService
    const processStart = Date.now() - process.uptime() * 1_000;
    const before = Date.now();
    const first = await startInstanceWithBreaker({ natsUrl: nats.url, service: 'proc-first', breakerName: 'x' });
    handles.push(first.handle);
    const between = Date.now();
    const second = await startInstanceWithBreaker({ natsUrl: nats.url, service: 'proc-second', breakerName: 'x' });
    handles.push(second.handle);
    const asker = await connect({ servers: nats.url });
    conns.push(asker);

    const a = (await all(asker, 'proc-first', 1)).instanceStarts;
    expect(a).toEqual([{ id: first.instance, startedAt: expect.any(Number) }]);
    const startA = a?.[0].startedAt as number;
    expect(Math.abs(startA - processStart)).toBeLessThan(1_000);
    expect(startA).toBeLessThan(before);

    const b = (await all(asker, 'proc-second', 1)).instanceStarts;
    expect(b).toEqual([{ id: second.instance, startedAt: expect.any(Number) }]);
    expect(b?.[0].startedAt).toBeGreaterThanOrEqual(between);
    expect(b?.[0].startedAt).toBeLessThanOrEqual(Date.now());
  });
});
