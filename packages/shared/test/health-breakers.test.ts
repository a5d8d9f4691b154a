import { connect, JSONCodec, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HealthAnswer, type ServiceHandle, serviceReadiness } from '@vigil/shared';
import { startInstanceWithBreaker, startNats, type TestServer, waitFor } from '@vigil/shared/testing';

let nats: TestServer;
let asker: NatsConnection;
const handles: ServiceHandle[] = [];

beforeAll(async () => {
  nats = await startNats();
  asker = await connect({ servers: nats.url });
});
afterAll(async () => {
  for (const h of handles) await h.stop();
  await asker?.close();
  await nats?.stop();
});

async function instanceWithBreaker(service: string, breakerName: string, resetTimeoutMs = 60_000) {
  const started = await startInstanceWithBreaker({ natsUrl: nats.url, service, breakerName, resetTimeoutMs });
  handles.push(started.handle);
  return started;
}

describe('health answers list the breakers that are not closed', () => {
  it('lists an open breaker with its real name and instance, and no more once it closed or the instance stopped', async () => {
    const a = await instanceWithBreaker('svc-one', 'http-127.0.0.1:19999', 2_000);
    expect((await serviceReadiness(asker, 'svc-one')).openBreakers).toBeUndefined();

    const before = Date.now();
    await expect(a.breaker.fire()).rejects.toThrow('connect ECONNREFUSED');
    expect(a.breaker.state).toBe('open');
    const r = await serviceReadiness(asker, 'svc-one');
    expect(r).toMatchObject({ ready: true, instances: 1 });
    expect(r.breakersUnknown).toBeUndefined();
    expect(r.openBreakers).toEqual([
      // open, or already half-open if answering took longer than the reset timeout (a loaded machine)
      {
        instance: a.instance,
        name: 'http-127.0.0.1:19999',
        state: expect.stringMatching(/^(open|half-open)$/),
        since: expect.any(String),
        openSince: expect.any(String),
      },
    ]);
    expect(Date.parse(r.openBreakers?.[0].since ?? '')).toBeGreaterThanOrEqual(before - 5);
    const openedAt = r.openBreakers?.[0].openSince;

    // half-open is still listed (on this live instance), until the probe succeeds
    await waitFor(() => a.breaker.state === 'half-open');
    expect((await serviceReadiness(asker, 'svc-one')).openBreakers).toMatchObject([{ state: 'half-open' }]);
    // a failed probe opens it again: `since` moves, `openSince` still says when the trouble began
    await expect(a.breaker.fire()).rejects.toThrow('connect ECONNREFUSED');
    const reopened = (await serviceReadiness(asker, 'svc-one')).openBreakers?.[0];
    expect(reopened?.openSince).toBe(openedAt);
    expect(Date.parse(reopened?.since ?? '')).toBeGreaterThan(Date.parse(openedAt ?? ''));
    await waitFor(() => a.breaker.state === 'half-open');
    a.upstream.up = true;
    await a.breaker.fire();
    expect(a.breaker.state).toBe('closed');
    expect((await serviceReadiness(asker, 'svc-one')).openBreakers).toBeUndefined();

    // open again, then the instance goes away: nobody lists it any more
    a.upstream.up = false;
    a.breaker.fire().catch(() => {});
    await waitFor(() => a.breaker.state === 'open');
    expect((await serviceReadiness(asker, 'svc-one')).openBreakers).toHaveLength(1);
    await a.handle.stop();
    const after = await serviceReadiness(asker, 'svc-one', 300);
    expect(after).toMatchObject({ ready: false, instances: 0 });
    expect(after.openBreakers).toBeUndefined();
  });

  it('two instances, one with an open breaker: listed once, with that instance', async () => {
    const a = await instanceWithBreaker('svc-two', 'smtp');
    const b = await instanceWithBreaker('svc-two', 'smtp');
    await expect(b.breaker.fire()).rejects.toThrow('connect ECONNREFUSED');
    // an answer that comes after the jitter window is not counted (a loaded machine): ask until both are in
    const r = await waitFor(async () => {
      const answer = await serviceReadiness(asker, 'svc-two');
      return answer.instances === 2 ? answer : undefined;
    });
    expect(r.openBreakers).toEqual([
      { instance: b.instance, name: 'smtp', state: 'open', since: expect.any(String), openSince: expect.any(String) },
    ]);
    expect(a.breaker.state).toBe('closed');
  });

  it('lists closed breakers not proven yet apart, only when asked for instances; a success proves them', async () => {
    // an instance started while its dependency is down: its breaker is closed only because nothing went through yet
    const a = await instanceWithBreaker('svc-unproven', 'secrets-provider');
    const r = await serviceReadiness(asker, 'svc-unproven', 1_000, { instances: true });
    expect(r.openBreakers).toBeUndefined();
    expect(r.unprovenBreakers).toEqual([{ instance: a.instance, name: 'secrets-provider', since: expect.any(String) }]);
    expect(Number.isNaN(Date.parse(r.unprovenBreakers?.[0].since ?? ''))).toBe(false);
    // the health pages (no `instances`) stay as they are
    expect(await serviceReadiness(asker, 'svc-unproven')).not.toHaveProperty('unprovenBreakers');
    // on the wire: `breakers` still holds only breakers that are not closed (older readers see nothing new there)
    const raw = JSONCodec().decode((await asker.request('vigil.health.svc-unproven', undefined)).data) as HealthAnswer;
    expect(raw.breakers).toEqual([]);
    expect(raw.breakersUnproven).toEqual([{ name: 'secrets-provider', since: expect.any(String) }]);
    a.upstream.up = true;
    await a.breaker.fire();
    const proven = await serviceReadiness(asker, 'svc-unproven', 1_000, { instances: true });
    expect(proven.unprovenBreakers).toBeUndefined();
    expect(proven.openBreakers).toBeUndefined();
  });

  it('names the instances whose answer has no breaker list (older versions)', async () => {
    const jc = JSONCodec();
    const old = await connect({ servers: nats.url });
    const answer = {
      service: 'svc-old',
      instance: 'old-1',
      version: '0.9.0',
      ready: true,
      phase: 'running',
      checks: {},
    };
    old.subscribe('vigil.health.svc-old.each', { callback: (_e, m) => m.respond(jc.encode(answer)) });
    await old.flush();
    try {
      const r = await serviceReadiness(asker, 'svc-old');
      expect(r).toMatchObject({ ready: true, instances: 1, breakersUnknown: ['old-1'] });
      expect(r.openBreakers).toBeUndefined();
    } finally {
      await old.close();
    }
  });
});
