import { connect, type NatsConnection, nanos } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureStreams, STREAMS, openKv } from '@vigil/shared';
import { startNats, type TestServer } from '@vigil/shared/testing';

let nats: TestServer;
const conns: NatsConnection[] = [];
const conn = async () => {
  const nc = await connect({ servers: nats.url });
  conns.push(nc);
  return nc;
};

beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  for (const nc of conns) await nc.close();
  await nats.stop();
});

describe('ensureStreams', () => {
  it('two connections creating the streams at once both succeed, and re-running is a no-op', async () => {
    const [a, b] = await Promise.all([conn(), conn()]);
    const [jsmA, jsmB] = await Promise.all([a.jetstreamManager(), b.jetstreamManager()]);
    await Promise.all([ensureStreams(jsmA), ensureStreams(jsmB), ensureStreams(jsmA)]);
    const names = [];
    for await (const s of jsmA.streams.list()) names.push(s.config.name);
    expect(names.sort()).toEqual(STREAMS.map((s) => s.name).sort());
    const jobs = await jsmA.streams.info('VIGIL_JOBS');
    expect(jobs.config.subjects).toEqual(['job.>']);
    expect(jobs.config.max_age).toBe(nanos(7 * 24 * 3600 * 1000));
    expect(jobs.config.duplicate_window).toBe(nanos(120_000));
    expect(jobs.config.storage).toBe('file');
    expect((await jsmA.streams.info('VIGIL_NOTIFY')).config.subjects.sort()).toEqual(['notification.>', 'notify.>']);
    expect((await jsmA.streams.info('VIGIL_OPS')).config.max_age).toBe(nanos(24 * 3600 * 1000));
    expect((await jsmA.streams.info('VIGIL_DLQ')).config.max_age).toBe(nanos(30 * 24 * 3600 * 1000));
    await ensureStreams(jsmB);
  });

  it('updates a stream whose max_age changed, concurrently from two replicas, keeping its messages', async () => {
    const [a, b] = await Promise.all([conn(), conn()]);
    const [jsmA, jsmB] = await Promise.all([a.jetstreamManager(), b.jetstreamManager()]);
    await ensureStreams(jsmA);
    await a.jetstream().publish('secrets.refreshed', new TextEncoder().encode('{}'));
    const maxAgeMs = { VIGIL_SECRETS: 3 * 24 * 3600 * 1000 };
    await Promise.all([ensureStreams(jsmA, { maxAgeMs }), ensureStreams(jsmB, { maxAgeMs })]);
    const info = await jsmA.streams.info('VIGIL_SECRETS');
    expect(info.config.max_age).toBe(nanos(maxAgeMs.VIGIL_SECRETS));
    expect(info.state.messages).toBe(1);
    // and back to the contract's value
    await ensureStreams(jsmB);
    expect((await jsmA.streams.info('VIGIL_SECRETS')).config.max_age).toBe(nanos(7 * 24 * 3600 * 1000));
  });

  it('openKv creates a bucket once when replicas race, and binds to it afterwards', async () => {
    const [a, b] = await Promise.all([conn(), conn()]);
    const [kvA, kvB] = await Promise.all([
      openKv(a.jetstream(), 'vigil_idempotency', { ttlMs: 60_000 }),
      openKv(b.jetstream(), 'vigil_idempotency', { ttlMs: 60_000 }),
    ]);
    await kvA.create('run-1', new TextEncoder().encode('x'));
    await expect(kvB.create('run-1', new TextEncoder().encode('y'))).rejects.toThrow();
    const again = await openKv(b.jetstream(), 'vigil_idempotency', { ttlMs: 120_000 });
    expect(new TextDecoder().decode((await again.get('run-1'))?.value)).toBe('x');
  });
});
