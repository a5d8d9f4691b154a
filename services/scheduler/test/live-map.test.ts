import { createLogger, openKv } from '@vigil/shared';
import { startNats, type TestServer, waitFor } from '@vigil/shared/testing';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveMap } from '../src/live-map.js';

// The live copies of vigil_runs / vigil_jobs decide occupancy and verdicts: one that silently stopped following its
// bucket after a broker restart (seen live: a finished run kept a job "running" for 18 minutes) must catch up.
let nats: TestServer;
let nc: NatsConnection;
let writer: NatsConnection;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
  writer = await connect({ servers: nats.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
});

afterAll(async () => {
  await nc?.close();
  await writer?.close();
  await nats?.stop();
});

describe('LiveMap', () => {
  it('follows its bucket again after the broker is killed and restarted', async () => {
    const kv = await openKv(nc.jetstream(), 'live_map_test', { history: 1 });
    const live = new LiveMap<{ v: number }>(kv, createLogger({ service: 'test', level: 'silent' }), 'test');
    await live.start();
    const put = async (key: string, v: number) =>
      (await openKv(writer.jetstream(), 'live_map_test', { history: 1 })).put(key, JSON.stringify({ v }));
    await put('a', 1);
    await waitFor(() => live.get('a')?.v === 1 || undefined);

    await nats.kill();
    await nats.restart();
    await waitFor(async () => {
      try {
        await put('b', 2);
        return true;
      } catch {
        return undefined;
      }
    }, 15_000);
    await put('a', 3);
    await waitFor(() => (live.get('a')?.v === 3 && live.get('b')?.v === 2) || undefined, 30_000);
    expect(live.get('b')).toEqual({ v: 2 });
    live.stop();
  }, 60_000);
});
