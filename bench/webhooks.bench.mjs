// webhooks.throughput: signed, status-tracked deliveries per second from `webhook.send` events to a 200-OK
// loopback receiver, against bare undici POSTing the same bodies to the same receiver in the same run.
// Needs a build (pnpm exec tsc -b): it imports the built service and test kit.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { connect } from 'nats';
import { Agent } from 'undici';
import { createLogger, EventBus } from '../packages/shared/dist/index.js';
import { startNats, startRedis } from '../packages/shared/dist/testing/index.js';
import { startWebhooksService } from '../services/webhooks/dist/service.js';

const N = Number(process.env.BENCH_WEBHOOKS_N ?? 10_000);
const WARMUP = 500;
const CONNECTIONS = 64;
const CONCURRENCY = Number(process.env.BENCH_WEBHOOKS_CONCURRENCY ?? 256);
const payload = { text: 'x'.repeat(900), n: 0 };

/** A plain 200-OK loopback receiver with Node's default keep-alive; counts requests and distinct webhook ids. */
async function startReceiver() {
  const ids = new Set();
  const state = { count: 0, ids };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      state.count++;
      const id = req.headers['webhook-id'];
      if (id) {
        if (ids.size === 0) state.firstAt = performance.now();
        ids.add(id);
        state.lastAt = performance.now();
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${server.address().port}`;
  state.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

async function rawUndici(url, count) {
  const agent = new Agent({ connections: CONNECTIONS, pipelining: 1 });
  const body = JSON.stringify({ type: 'bench', timestamp: new Date().toISOString(), data: payload });
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      const res = await agent.request({
        origin: url.origin,
        path: url.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      await res.body.dump();
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  const seconds = (performance.now() - started) / 1000;
  await agent.close();
  return count / seconds;
}

/** Fills the queue with `count` webhook.send commands (the intake side), returns commands/s. */
async function fillQueue(bus, url, count, tag) {
  const started = performance.now();
  const publishes = [];
  for (let i = 0; i < count; i++) {
    publishes.push(bus.publish('webhook.send', { id: `${tag}-${i}`, url: url.href, eventType: 'bench', payload }));
    if (publishes.length >= 1000) await Promise.all(publishes.splice(0));
  }
  await Promise.all(publishes);
  return count / ((performance.now() - started) / 1000);
}

/** Drain rate: from the first to the last delivery the receiver sees. */
async function drain(receiver, count) {
  const started = performance.now();
  while (receiver.ids.size < count) {
    await new Promise((r) => setTimeout(r, 5));
    if (performance.now() - started > 120_000) throw new Error(`webhooks bench timed out at ${receiver.ids.size}`);
  }
  return (count - 1) / ((receiver.lastAt - receiver.firstAt) / 1000);
}

export async function run() {
  const nats = await startNats();
  const redis = await startRedis();
  const receiver = await startReceiver();
  let service;
  let nc;
  try {
    const url = new URL(`${receiver.url}/hook`);
    await rawUndici(url, WARMUP);
    const pcpu0 = process.cpuUsage();
    const peer = await rawUndici(url, N);
    const pcpu = process.cpuUsage(pcpu0);
    if (process.env.BENCH_DEBUG)
      console.log(`  raw undici: ${(((pcpu.user + pcpu.system) / 1000 / N) * 1000).toFixed(0)} µs/request`);

    // The queue is filled first, then the service drains it: what is measured is delivery, not intake.
    nc = await connect({ servers: nats.url });
    const bus = new EventBus(nc, { service: 'bench', logger: createLogger({ service: 'bench', level: 'silent' }) });
    await bus.ensureStreams();
    const intake = await fillQueue(bus, url, N, 'run');
    service = await startWebhooksService({
      env: {
        NATS_URL: nats.url,
        REDIS_URL: redis.url,
        HTTP_PORT: '0',
        LOG_LEVEL: 'error',
        WEBHOOKS_SIGNING_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
        WEBHOOKS_ALLOW_PRIVATE: 'true',
        WEBHOOKS_CONCURRENCY: String(CONCURRENCY),
        WEBHOOKS_CONNECTIONS_PER_ORIGIN: String(CONNECTIONS),
      },
      handleSignals: false,
    });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const mine = await drain(receiver, N);
    const cpu = process.cpuUsage(cpu0);
    if (process.env.BENCH_DEBUG) {
      const ms = (cpu.user + cpu.system) / 1000;
      console.log(
        `  node cpu during drain: ${((ms / (performance.now() - t0)) * 100).toFixed(0)}%, ${((ms / N) * 1000).toFixed(0)} µs/delivery`,
      );
    }
    if (receiver.ids.size !== N) throw new Error(`expected ${N} distinct webhook ids, got ${receiver.ids.size}`);
    console.log(
      `  webhooks: ${Math.round(mine)}/s delivered (signed, Redis status, webhook.delivered events); raw undici: ${Math.round(peer)}/s; ratio ${(mine / peer).toFixed(2)} (target >= 0.5); intake ${Math.round(intake)} webhook.send/s`,
    );
    return [
      {
        name: 'webhooks.throughput',
        unit: 'deliveries/s',
        ours: Math.round(mine),
        peerName: 'raw undici',
        peer: Math.round(peer),
      },
    ];
  } finally {
    await service?.stop();
    await nc?.close();
    await receiver.close();
    await redis.stop();
    await nats.stop();
  }
}
