import {
  apiClient,
  collectEvents,
  startHttpReceiver,
  startNats,
  startRedis,
  type TestServer,
  waitFor,
} from '@vigil/shared/testing';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parkedSubject } from '../src/parking-lot.js';
import { startWebhooksService } from '../src/service.js';
import { TOKEN, webhooksEnv } from './harness.js';

/**
 * The parking lot releases each parked webhook once per chance the breaker gives it: a restart (fresh, closed
 * breaker) must not turn 10 parked webhooks into hundreds of release/re-park cycles, and a half-open breaker whose
 * probe hangs must not let more parked webhooks out every second.
 */

type Service = Awaited<ReturnType<typeof startWebhooksService>>;

let nats: TestServer;
let redisServer: TestServer;
let nc: NatsConnection;
const services: Service[] = [];

beforeAll(async () => {
  [nats, redisServer] = await Promise.all([startNats(), startRedis()]);
  nc = await connect({ servers: nats.url });
});
afterAll(async () => {
  for (const s of services.splice(0)) await s.stop();
  await nc?.close();
  await Promise.all([redisServer?.stop(), nats?.stop()]);
});

async function start(extra: Record<string, string>): Promise<Service> {
  const service = await startWebhooksService({
    env: webhooksEnv({ nats, redis: redisServer }, { WEBHOOKS_MAX_RETRIES: '20', ...extra }),
    handleSignals: false,
  });
  services.push(service);
  return service;
}

async function stop(service: Service): Promise<void> {
  services.splice(services.indexOf(service), 1);
  await service.stop();
}

async function counter(service: Service, result: string): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const m = new RegExp(`vigil_webhook_deliveries_total\\{result="${result}"\\} (\\d+)`).exec(text);
  return m ? Number(m[1]) : 0;
}

/** Parked webhooks of one destination (the file's tests share the stream). */
async function parkedCount(origin: string): Promise<number> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info('VIGIL_WEBHOOKS', { subjects_filter: parkedSubject(origin) });
  return Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
}

async function drained(): Promise<boolean> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.consumers.info('VIGIL_WEBHOOKS', 'webhooks');
  return info.num_pending === 0 && info.num_ack_pending === 0;
}

/** Nothing happens is only observable over time: a few release rounds (one a second). */
const quiet = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function post(service: Service, ids: string[], url: string): Promise<void> {
  const api = apiClient(service.url, TOKEN);
  for (const id of ids) {
    expect((await api('POST', '/api/webhooks', { id, url, eventType: 't', payload: { id } })).status).toBe(202);
  }
}

describe('releasing parked webhooks', () => {
  it('after a restart with the destination still down: each parked webhook is released once, then parked once', async () => {
    const down = await startHttpReceiver();
    await down.close();
    const env = { WEBHOOKS_BREAKER_RESET: '10m' };
    const first = await start(env);
    const breakers = collectEvents(nc, 'breaker.>');
    const ids = Array.from({ length: 10 }, (_, i) => `storm-${i}`);
    await post(first, ids, `${down.url}/s`);
    await breakers.waitFor('breaker.opened', 1, 15_000);
    await waitFor(async () => (await parkedCount(down.url)) === ids.length && (await drained()), 15_000);
    await stop(first);

    // The restarted service's breaker is closed: it lets them all out, they fail until it opens, then park again.
    const second = await start(env);
    await breakers.waitFor('breaker.opened', 2, 15_000);
    await waitFor(async () => (await parkedCount(down.url)) === ids.length && (await drained()), 15_000);
    await quiet(2_500);
    const released = await counter(second, 'released');
    const parked = await counter(second, 'parked');
    expect(released).toBeGreaterThanOrEqual(1);
    expect(released).toBeLessThanOrEqual(ids.length);
    expect(parked).toBeLessThanOrEqual(ids.length);
    expect(await parkedCount(down.url)).toBe(ids.length);
    expect(down.requests).toHaveLength(0);
    breakers.stop();
    await stop(second);
    // the next test's service would release these too (and count them in the same metrics)
    await (await nc.jetstreamManager()).streams.purge('VIGIL_WEBHOOKS', { filter: parkedSubject(down.url) });
  }, 60_000);

  it('while half-open: only the probe goes, none more while it hangs; the rest follow once it succeeds', async () => {
    const dest = await startHttpReceiver();
    await dest.close();
    const service = await start({
      WEBHOOKS_BREAKER_THRESHOLD: '1',
      WEBHOOKS_BREAKER_RESET: '2s',
      WEBHOOKS_TIMEOUT: '20s',
    });
    const breakers = collectEvents(nc, 'breaker.>');
    const ids = Array.from({ length: 4 }, (_, i) => `probe-${i}`);
    await post(service, ids, `${dest.url}/s`);
    await breakers.waitFor('breaker.opened', 1, 15_000);
    await waitFor(async () => (await parkedCount(dest.url)) === ids.length && (await drained()), 15_000);

    let answer: () => void = () => {};
    const answered = new Promise<void>((r) => (answer = r));
    dest.respond(async () => {
      await answered;
      return { status: 200 };
    });
    // at least one probe is refused (the receiver is still down) before the one that hangs
    await breakers.waitFor('breaker.half-open', 2, 15_000);
    await dest.start();
    await waitFor(() => dest.requests.length === 1, 15_000);
    // the probe left the lot (its removal and count may trail its arrival by a moment)
    await waitFor(async () => (await parkedCount(dest.url)) === ids.length - 1, 5_000);
    const releasedAtProbe = await counter(service, 'released');
    await quiet(2_500);
    // the probe still hangs: nothing else was let out of the lot or reached the receiver
    expect(dest.requests).toHaveLength(1);
    expect(await parkedCount(dest.url)).toBe(ids.length - 1);
    expect(await counter(service, 'released')).toBe(releasedAtProbe);
    expect(await counter(service, 'deferred')).toBe(0);

    answer();
    await breakers.waitFor('breaker.closed', 1, 15_000);
    await waitFor(() => dest.requests.length === ids.length, 15_000);
    await waitFor(async () => (await parkedCount(dest.url)) === 0 && (await drained()), 15_000);
    expect(dest.requests.map((r) => r.headers['webhook-id']).sort()).toEqual([...ids].sort());
    breakers.stop();
    await dest.close();
  }, 60_000);
});
