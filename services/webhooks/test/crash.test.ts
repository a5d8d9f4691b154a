import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createLogger, EventBus } from '@vigil/shared';
import {
  freePort,
  type HttpReceiver,
  startHttpReceiver,
  startNats,
  startRedis,
  type TestServer,
  waitFor,
} from '@vigil/shared/testing';
import { Redis } from 'ioredis';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECRET } from './harness.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const TOTAL = 500;
const CONCURRENCY = 8;

let nats: TestServer;
let redisServer: TestServer;
let receiver: HttpReceiver;
let nc: NatsConnection;
let redis: Redis;
let child: ChildProcess | undefined;
let env: Record<string, string>;

async function startProcess(): Promise<ChildProcess> {
  const p = spawn(process.execPath, [MAIN], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout?.on('data', (b: Buffer) => {
    out = (out + b.toString()).slice(-8000);
  });
  p.stderr?.on('data', (b: Buffer) => {
    out = (out + b.toString()).slice(-8000);
  });
  await waitFor(
    async () => {
      if (p.exitCode !== null) throw new Error(`webhooks exited ${p.exitCode}: ${out}`);
      const res = await fetch(`http://127.0.0.1:${env.HTTP_PORT}/health/ready`).catch(() => undefined);
      return res?.status === 200;
    },
    { timeout: 20_000, message: 'webhooks service ready' },
  );
  return p;
}

function kill9(p: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve();
    p.once('exit', () => resolve());
    p.kill('SIGKILL');
  });
}

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`build first: ${MAIN} is missing (pnpm exec tsc -b services/webhooks)`);
  nats = await startNats();
  redisServer = await startRedis();
  // Slow enough that most of the 500 are still pending when the process dies.
  receiver = await startHttpReceiver(() => ({ status: 200, delayMs: 25 }));
  env = {
    NATS_URL: nats.url,
    REDIS_URL: redisServer.url,
    HTTP_PORT: String(await freePort()),
    LOG_LEVEL: 'error',
    WEBHOOKS_SIGNING_SECRET: SECRET,
    WEBHOOKS_ALLOW_PRIVATE: 'true',
    WEBHOOKS_CONCURRENCY: String(CONCURRENCY),
    WEBHOOKS_TIMEOUT: '2s',
    WEBHOOKS_ACK_WAIT: '3s',
  };
  nc = await connect({ servers: nats.url });
  redis = new Redis(redisServer.url);
});

afterAll(async () => {
  if (child) await kill9(child);
  await nc?.close();
  redis?.disconnect();
  await receiver?.close();
  await redisServer?.stop();
  await nats?.stop();
});

describe('crash safety (real process, kill -9)', () => {
  it('500 pending deliveries survive kill -9: after restart every webhook is delivered, none twice once settled', async () => {
    child = await startProcess();
    const bus = new EventBus(nc, { service: 'test', logger: createLogger({ service: 'test', level: 'silent' }) });
    await Promise.all(
      Array.from({ length: TOTAL }, (_, i) =>
        bus.publish('webhook.send', { id: `crash-${i}`, url: `${receiver.url}/h`, eventType: 't', payload: { i } }),
      ),
    );

    await waitFor(() => receiver.requests.length >= 60, 20_000);
    await kill9(child);
    const atKill = receiver.requests.length;
    child = undefined;
    expect(atKill).toBeLessThan(TOTAL - 100); // plenty still pending

    child = await startProcess();
    const ids = () => new Set(receiver.requests.map((r) => r.headers['webhook-id']));
    await waitFor(() => ids().size === TOTAL, { timeout: 40_000, message: 'all 500 delivered' });
    await waitFor(async () => {
      const info = await (await nc.jetstreamManager()).consumers.info('VIGIL_WEBHOOKS', 'webhooks');
      return info.num_pending === 0 && info.num_ack_pending === 0;
    }, 15_000);

    // Every webhook is delivered and recorded as such.
    const statuses = await Promise.all(
      Array.from({ length: TOTAL }, (_, i) => redis.hget(`vigil:webhook:crash-${i}`, 'status')),
    );
    expect(statuses.filter((s) => s !== 'delivered')).toEqual([]);

    // A request cut off by the kill has no recorded outcome, so it is sent again (receivers dedupe on
    // webhook-id, as Standard Webhooks asks). Only those can repeat: at most one per in-flight slot, and
    // only ids first seen before the kill. Nothing delivered after the restart is ever sent twice.
    const seen = new Map<string, number>();
    receiver.requests.forEach((r, index) => {
      const id = r.headers['webhook-id'] as string;
      if (seen.has(id)) expect(seen.get(id)).toBeLessThan(atKill);
      else seen.set(id, index);
    });
    const duplicates = receiver.requests.length - TOTAL;
    expect(duplicates).toBeLessThanOrEqual(CONCURRENCY * 2);
    console.log(
      `crash test: ${atKill} received before kill -9, ${duplicates} re-sent after it (in flight at the kill)`,
    );
  }, 60_000);
});
