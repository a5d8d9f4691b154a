import { createServer, type Server, Socket } from 'node:net';
import { connectNats, EventBus } from '@vigil/shared';
import { startNats, type TestServer, waitFor } from '@vigil/shared/testing';
import type { NatsConnection } from 'nats';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// A replica replaced by another (rolling deploy, crash, kill -9) must not leave pull requests behind
// that swallow the next event until ack-wait: an alert would be late by up to a minute.
const logger = pino({ level: 'silent' });
const ACK_WAIT_MS = 30_000;
let nats: TestServer;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await nats?.stop();
});

/** A TCP hop between one client and nats-server that can be cut like a dying host: no goodbye, no reconnect. */
async function startCuttableProxy(target: string): Promise<{ url: string; cut(): void; freeze(): void }> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = new Socket();
    upstream.connect(Number(port), hostname);
    client.pipe(upstream).pipe(client);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('proxy has no port');
  return {
    url: `nats://127.0.0.1:${address.port}`,
    cut: () => {
      server.close();
      for (const s of sockets) s.destroy();
    },
    // A host that vanished without a FIN (power loss, partition): the server still sees the connection.
    freeze: () => {
      server.close();
      for (const s of sockets) {
        s.unpipe();
        s.pause();
      }
    },
  };
}

async function replica(url: string, name: string, handled: string[]) {
  const nc = await connectNats({ servers: url, name, logger, reconnectTimeWaitMs: 100 });
  const bus = new EventBus(nc, { service: name, logger, publishTimeoutMs: 2_000 });
  await bus.ensureStreams();
  const handle = await bus.consume<{ reason: string }>({
    subject: 'job.trigger.restart',
    durable: 'restart-test',
    ackWaitMs: ACK_WAIT_MS,
    concurrency: 4,
    handler: async (e) => {
      handled.push(e.data.reason);
    },
  });
  // the bus first: a consumer left running on a closed connection keeps its timers
  cleanups.push(
    () => nc.close(),
    () => bus.drain(100),
  );
  return { nc, bus, handle };
}

/** Publishes one event and returns how long the new replica took to handle it. */
async function deliveryTime(bus: EventBus, handled: string[], reason: string): Promise<number> {
  const t0 = Date.now();
  await bus.publish('job.trigger.restart', { reason });
  await waitFor(() => handled.includes(reason), { timeout: 10_000, message: `${reason} handled` });
  return Date.now() - t0;
}

async function settledPulls(nc: NatsConnection): Promise<void> {
  // Both replicas have pulled: a message published now can go to either one's outstanding request.
  const jsm = await nc.jetstreamManager();
  await waitFor(async () => (await jsm.consumers.info('VIGIL_JOBS', 'restart-test')).num_waiting >= 1);
}

describe('a replica restarted on the same durable gets the next event at once', () => {
  const scenarios: Array<[string, (a: Awaited<ReturnType<typeof replica>>, cut: () => void) => Promise<unknown>]> = [
    [
      'graceful stop (consumer stop + nc.drain)',
      async (a) => {
        await a.bus.drain();
        await a.nc.drain();
      },
    ],
    ['connection closed without draining (nc.close)', (a) => a.nc.close()],
    ['connection cut like a dead host (socket destroyed, no reconnect)', async (_a, cut) => cut()],
  ];

  for (const [i, [name, kill]] of scenarios.entries()) {
    it(name, async () => {
      const proxy = await startCuttableProxy(nats.url);
      cleanups.push(async () => proxy.cut());
      const seenA: string[] = [];
      const a = await replica(proxy.url, `a${i}`, seenA);
      expect(await deliveryTime(a.bus, seenA, `warm-${i}`)).toBeLessThan(2_000);
      await settledPulls(a.nc);

      await kill(a, proxy.cut);
      const seenB: string[] = [];
      const b = await replica(nats.url, `b${i}`, seenB);
      const ms = await deliveryTime(b.bus, seenB, `after-${i}`);
      expect(seenA).not.toContain(`after-${i}`);
      expect(ms).toBeLessThan(2_000);
      await b.bus.drain();
      await b.nc.drain();
    }, 30_000);
  }
});

describe('a replica whose host vanished (the server still sees its connection)', () => {
  it('its stale pull requests expire within ~5 s, and the next event goes to the new replica at once', async () => {
    const proxy = await startCuttableProxy(nats.url);
    cleanups.push(async () => proxy.cut());
    const seenA: string[] = [];
    const a = await replica(proxy.url, 'a-frozen', seenA);
    cleanups.push(() => a.bus.drain(100));
    await deliveryTime(a.bus, seenA, 'warm-frozen');
    await settledPulls(a.nc);

    proxy.freeze();
    const frozenAt = Date.now();
    // Until they expire, the dead replica's pull requests catch messages that then wait out ack-wait
    // (30 s here, 60 s in the notifier): nats.js's default pull lifetime was 30 s.
    const probe = await connectNats({ servers: nats.url, name: 'probe', logger });
    cleanups.push(() => probe.close());
    const jsm = await probe.jetstreamManager();
    await waitFor(async () => (await jsm.consumers.info('VIGIL_JOBS', 'restart-test')).num_waiting === 0, {
      timeout: 8_000,
      message: "the frozen replica's pull requests expired",
    });
    expect(Date.now() - frozenAt).toBeLessThan(7_000);

    const seenB: string[] = [];
    const b = await replica(nats.url, 'b-frozen', seenB);
    const ms = await deliveryTime(b.bus, seenB, 'after-frozen');
    expect(seenA).not.toContain('after-frozen');
    expect(ms).toBeLessThan(2_000);
    await b.bus.drain();
    await b.nc.drain();
  }, 30_000);
});
