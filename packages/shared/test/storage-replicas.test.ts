import { connect, type NatsConnection } from 'nats';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureStreams, openKv, setStorageReplicas } from '@vigil/shared';
import { startNats, type TestServer } from '@vigil/shared/testing';

let nats: TestServer;
let nc: NatsConnection;
beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
});
afterAll(async () => {
  await nc.close();
  await nats.stop();
});
afterEach(() => setStorageReplicas(1));

describe('NATS_REPLICAS', () => {
  it('creates streams and KV buckets with that many copies (here: what a single server accepts)', async () => {
    const jsm = await nc.jetstreamManager();
    await ensureStreams(jsm, { only: ['VIGIL_OPS'] });
    expect((await jsm.streams.info('VIGIL_OPS')).config.num_replicas).toBe(1);
    // three copies need a cluster: a single server refuses, so the value really reaches the server
    setStorageReplicas(3);
    await expect(ensureStreams(jsm, { only: ['VIGIL_DLQ'] })).rejects.toThrow(/replica/i);
    await expect(openKv(nc.jetstream(), 'replicas_test')).rejects.toThrow(/replica/i);
  });
});
