import type { NatsConnection } from 'nats';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats, EventBus, natsCheck } from '@vigil/shared';
import { startNats, type TestServer, waitFor } from '@vigil/shared/testing';

const logger = pino({ level: 'silent' });
let nats: TestServer;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: 'resilience-test', logger, reconnectTimeWaitMs: 100 });
});
afterAll(async () => {
  await nc.close();
  await nats.stop();
});

describe('NATS outage during a consume loop', () => {
  it('every event published before the broker was killed is handled or dead-lettered after it restarts', async () => {
    const bus = new EventBus(nc, { service: 'resilience', logger, publishTimeoutMs: 2_000 });
    await bus.ensureStreams();
    const N = 400;
    const published: string[] = [];
    for (let i = 0; i < N; i += 50) {
      const batch = Array.from({ length: 50 }, (_, j) => ({ reason: `r${i + j}` }));
      const ids = batch.map(() => crypto.randomUUID());
      await Promise.all(batch.map((d, j) => bus.publish('job.trigger.outage', d, { id: ids[j] })));
      published.push(...ids);
    }
    const handled = new Map<string, number>();
    let killedAt = -1;
    await bus.consume({
      subject: 'job.trigger.outage',
      durable: 'outage',
      concurrency: 4,
      ackWaitMs: 2_000,
      backoffMs: [100],
      handler: async (e) => {
        await new Promise((r) => setTimeout(r, 2));
        handled.set(e.id, (handled.get(e.id) ?? 0) + 1);
        if ((e.data as { reason: string }).reason === 'r13') throw new Error('this one always fails');
      },
    });
    await waitFor(() => handled.size >= 60);
    killedAt = handled.size;
    await nats.kill();
    await expect(natsCheck(nc, 500)).rejects.toMatchObject({ code: 'VIGIL_E_NATS_UNAVAILABLE' });
    await new Promise((r) => setTimeout(r, 300));
    await nats.restart();
    await waitFor(() => natsCheck(nc, 500).then(() => true), 15_000);
    await waitFor(() => published.every((id) => handled.has(id)), { timeout: 30_000, message: 'all handled' });
    const jsm = await bus.jetstreamManager();
    await waitFor(async () => (await jsm.consumers.info('VIGIL_JOBS', 'outage')).num_ack_pending === 0, 15_000);
    const info = await jsm.consumers.info('VIGIL_JOBS', 'outage');
    expect(info.num_pending).toBe(0);
    // exactly once: a redelivery of an ack the dead broker forgot is recognised and not handled again
    const failing = published[13];
    const dupes = [...handled.entries()].filter(([id, n]) => n > 1 && id !== failing);
    expect(dupes).toEqual([]);
    // maxDeliver 5; a delivery count the killed broker forgot may add attempts, never remove them
    expect(handled.get(failing)).toBeGreaterThanOrEqual(5);
    expect(killedAt).toBeLessThan(N);
    const dlq = await bus.listDlq();
    expect(dlq.map((d) => d.eventId)).toEqual([failing]);
    await bus.drain();
  }, 60_000);

  it('a publish issued during a short outage is buffered and stored once the broker is back', async () => {
    const bus = new EventBus(nc, { service: 'resilience', logger, publishTimeoutMs: 10_000 });
    await nats.kill();
    const pending = bus.publish('job.trigger.buffered', { reason: 'during outage' });
    await new Promise((r) => setTimeout(r, 200));
    await nats.restart();
    const ack = await pending;
    expect(ack.stream).toBe('VIGIL_JOBS');
    const jsm = await bus.jetstreamManager();
    const stored = await jsm.streams.getMessage('VIGIL_JOBS', { last_by_subj: 'job.trigger.buffered' });
    expect(JSON.parse(new TextDecoder().decode(stored.data)).data.reason).toBe('during outage');
  }, 30_000);
});
