import { connect, type NatsConnection } from 'nats';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReadiness, registerNatsService, serviceReadiness } from '@vigil/shared';
import { startNats, type TestServer } from '@vigil/shared/testing';

const log = pino({ level: 'silent' });
let nats: TestServer;
const conns: NatsConnection[] = [];

async function instance(name: string, id: string, healthy: boolean): Promise<void> {
  const nc = await connect({ servers: nats.url });
  conns.push(nc);
  const readiness = createReadiness();
  readiness.phase = 'running';
  readiness.addCheck('redis', () => {
    if (!healthy) throw new Error('redis unreachable');
  });
  await registerNatsService(nc, { name, instance: id, version: '1.0.0', readiness, log });
  await nc.flush();
}

beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
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
