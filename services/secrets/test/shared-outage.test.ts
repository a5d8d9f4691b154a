import { ErrorCode, openKv, TransientError } from '@vigil/shared';
import { startNats, type TestServer } from '@vigil/shared/testing';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CacheHooks } from '../src/cache-types.js';
import { KvOutageLedger, OUTAGES_BUCKET } from '../src/outage-ledger.js';
import type { ProviderValue } from '../src/providers/types.js';
import { SecretCache } from '../src/secret-cache.js';

// Two replicas share one outage record in NATS KV. A broker that stalls (SIGSTOP: the process is frozen, its
// sockets stay open) must neither hold the stale answers nor, once it answers again, let both replicas announce.
let nats: TestServer;
const conns: NatsConnection[] = [];

beforeAll(async () => {
  nats = await startNats();
});

afterAll(async () => {
  const pid = nats?.pid();
  if (pid) process.kill(pid, 'SIGCONT');
  for (const nc of conns) await nc.close().catch(() => undefined);
  await nats?.stop();
});

async function replica(clock: { now: number }, provider: { failing: boolean }) {
  const nc = await connect({ servers: nats.url });
  conns.push(nc);
  const kv = await openKv(nc.jetstream(), OUTAGES_BUCKET, { history: 1 });
  const announced: boolean[] = [];
  const hooks: CacheHooks = { staleServed: (i) => announced.push(i.firstInOutage) };
  const cache = new SecretCache({
    fetch: async (): Promise<ProviderValue> => {
      if (provider.failing) throw new TransientError('provider down', { code: ErrorCode.SECRETS_PROVIDER });
      return { value: 'pw-1', version: 'v1' };
    },
    providerName: 'aws',
    now: () => clock.now,
    ttlMs: () => 60_000,
    refreshAheadMs: () => 0,
    maxStaleMs: 3_600_000,
    errorBackoffMs: 30_000,
    outages: new KvOutageLedger(kv),
    hooks,
  });
  return { cache, announced };
}

describe('an outage shared by two replicas through a stalling broker', () => {
  it('answers stale at once while NATS is frozen, and announces the outage once when it answers again', async () => {
    const clock = { now: 1_000_000 };
    const provider = { failing: false };
    const a = await replica(clock, provider);
    const b = await replica(clock, provider);
    await a.cache.get('db');
    await b.cache.get('db');

    provider.failing = true;
    clock.now += 120_000; // past the TTL: the next get asks the provider, which fails
    const pid = nats.pid();
    if (!pid) throw new Error('nats-server has no pid');
    process.kill(pid, 'SIGSTOP');
    let answers: Awaited<ReturnType<SecretCache['get']>>[];
    const started = Date.now();
    try {
      answers = await Promise.all([a.cache.get('db'), b.cache.get('db'), a.cache.get('db'), b.cache.get('db')]);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    // no answer waited for the frozen broker (each would otherwise hang there)
    expect(Date.now() - started).toBeLessThan(1_000);
    for (const answer of answers) expect(answer).toMatchObject({ value: 'pw-1', stale: true, ageSeconds: 120 });

    // the joins and the claim finish once the broker runs again: one announcement across both replicas
    await expect.poll(() => a.announced.length + b.announced.length, { timeout: 10_000 }).toBe(4);
    expect([...a.announced, ...b.announced].filter(Boolean)).toHaveLength(1);
  });
});
