import { PermanentError, TransientError } from '@vigil/shared';
import { waitFor } from '@vigil/shared/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from './harness.js';
import { workerKit } from './worker-kit.js';

const kit = workerKit();
const { receiver } = kit;
let h: Harness;
beforeAll(() => {
  h = kit.harness();
});
const { store, worker } = kit;

const deadEvents = (id: string) => h.events.of('webhook.dead').filter((e) => e.event.data.id === id);
const dlqEntries = async (id: string) =>
  (await h.service.runtime.bus.listDlq({ subject: 'webhook.send' })).filter((e: any) => e.data?.data?.id === id);
const drained = () => kit.drained(15_000);
/** webhook.dead events of `id` stored in the stream (what the notifier's durable consumer gets; duplicates dropped). */
async function storedDead(id: string): Promise<number> {
  const jsm = h.service.runtime.jsm;
  const { state } = await jsm.streams.info('VIGIL_WEBHOOKS');
  let n = 0;
  for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
    const m = await jsm.streams.getMessage('VIGIL_WEBHOOKS', { seq }).catch(() => undefined);
    if (m?.subject === 'webhook.dead' && (m.json() as { data?: { id?: string } }).data?.id === id) n++;
  }
  return n;
}

/** Every event the server routed to the collector before now has been read. */
const settled = async () => {
  await drained();
  await h.nc.flush();
};

describe('webhook.dead is never lost', () => {
  it('a crash after the status write, before webhook.dead: the redelivery announces it once, then dead-letters', async () => {
    const r = await receiver(() => ({ status: 200 }));
    // What the dying delivery left behind: its attempt and `dead` recorded, then the process died.
    const s = store();
    const begun = await s.beginAttempt('crash-dead', r.url, 't', Date.now(), Date.now(), {
      until: Date.now() + 15_000,
      owner: 'gone',
    });
    expect(begun).toMatchObject({ status: 'pending', attempts: 1 });
    await s.markFailed(
      'crash-dead',
      'dead',
      { statusCode: 410, error: 'HTTP 410: gone for good', durationMs: 5 },
      Date.now(),
      undefined,
      'gone',
    );

    // JetStream redelivers the command (same data) to the service
    const cmd = { id: 'crash-dead', url: r.url, eventType: 't', payload: {} };
    await h.service.runtime.bus.publish('webhook.send', cmd, { msgId: 'crash-dead-redelivery' });
    await waitFor(async () => (await dlqEntries('crash-dead')).length === 1);
    await settled();
    const dead = deadEvents('crash-dead');
    expect(dead).toHaveLength(1);
    expect(await storedDead('crash-dead')).toBe(1);
    expect(dead[0].event.data).toMatchObject({
      id: 'crash-dead',
      attempts: 1,
      status: 410,
      lastError: 'HTTP 410: gone for good',
      error: { message: 'HTTP 410: gone for good', class: 'permanent' },
    });
    expect(r.requests).toHaveLength(0);

    // a further delivery of the id (a twin command) is dead-lettered but not announced a second time
    await h.service.runtime.bus.publish('webhook.send', cmd, { msgId: 'crash-dead-twin' });
    await waitFor(async () => (await dlqEntries('crash-dead')).length === 2);
    await settled();
    expect(deadEvents('crash-dead')).toHaveLength(1);
    expect(await storedDead('crash-dead')).toBe(1);
    expect(r.requests).toHaveLength(0);
  });

  it('a crash after a death by used-up retries (503 x4): re-announced and dead-lettered as transient, not permanent', async () => {
    const r = await receiver(() => ({ status: 200 }));
    const s = store();
    for (let i = 1; i <= 4; i++) {
      await s.beginAttempt('crash-spent', r.url, 't', Date.now(), Date.now(), {
        until: Date.now() + 15_000,
        owner: 'gone',
      });
      await s.markFailed(
        'crash-spent',
        i < 4 ? 'failed' : 'dead',
        { statusCode: 503, error: 'HTTP 503', durationMs: 5 },
        Date.now(),
        i < 4 ? Date.now() : undefined,
        'gone',
      );
    }
    const cmd = { id: 'crash-spent', url: r.url, eventType: 't', payload: {} };
    await h.service.runtime.bus.publish('webhook.send', cmd, { msgId: 'crash-spent-redelivery' });
    const [entry] = await waitFor(async () => {
      const e = await dlqEntries('crash-spent');
      return e.length === 1 ? e : undefined;
    });
    expect(entry).toMatchObject({ errorClass: 'transient', errorCode: 'VIGIL_E_RETRIES_EXHAUSTED' });
    await settled();
    const dead = deadEvents('crash-spent');
    expect(dead).toHaveLength(1);
    expect(dead[0].event.data).toMatchObject({ attempts: 4, status: 503, error: { class: 'transient' } });
    expect(r.requests).toHaveLength(0);
  });

  it('webhook.dead lost to a NATS blip: not dead-lettered silently; the redelivery announces it once, no re-POST', async () => {
    const r = await receiver(() => ({ status: 400 }));
    let failDead = true;
    const w = worker({
      publish: (subject, data, opts) => {
        if (subject === 'webhook.dead' && failDead) return Promise.reject(new Error('nats unavailable'));
        return h.service.runtime.bus.publish(subject, data, opts);
      },
    });
    const cmd = {
      id: 'evt-blip',
      time: new Date().toISOString(),
      data: { id: 'blip-notice', url: r.url, eventType: 't', payload: {} },
    };
    const first = await w.handle(cmd).catch((err: unknown) => err);
    expect(first).toBeInstanceOf(TransientError); // retried, not dead-lettered without its notice
    expect(deadEvents('blip-notice')).toHaveLength(0);

    failDead = false;
    const second = await w.handle(cmd).catch((err: unknown) => err);
    expect(second).toBeInstanceOf(PermanentError);
    const dead = await waitFor(() => deadEvents('blip-notice')[0]);
    expect(dead.event.data).toMatchObject({ id: 'blip-notice', attempts: 1, status: 400, lastError: 'HTTP 400' });

    // once announced, later deliveries stay quiet
    expect(await w.handle(cmd).catch((err: unknown) => err)).toBeInstanceOf(PermanentError);
    await h.nc.flush();
    expect(deadEvents('blip-notice')).toHaveLength(1);
    expect(await storedDead('blip-notice')).toBe(1);
    expect(r.requests).toHaveLength(1);
  });

  it('the same death announced twice (flag write lost) is dropped by JetStream: one webhook.dead', async () => {
    const r = await receiver(() => ({ status: 200 }));
    const s = store();
    await s.beginAttempt('dup-dead', r.url, 't', Date.now(), Date.now(), { until: Date.now() + 15_000, owner: 'x' });
    await s.markFailed(
      'dup-dead',
      'dead',
      { statusCode: 404, error: 'HTTP 404', durationMs: 1 },
      Date.now(),
      undefined,
      'x',
    );
    const w = worker({ publish: (subject, data, opts) => h.service.runtime.bus.publish(subject, data, opts) });
    const cmd = {
      id: 'evt-dup',
      time: new Date().toISOString(),
      data: { id: 'dup-dead', url: r.url, eventType: 't', payload: {} },
    };
    expect(await w.handle(cmd).catch((err: unknown) => err)).toBeInstanceOf(PermanentError);
    await h.redis.hdel('vigil:webhook:dup-dead', 'deadNotified'); // as if the mark never reached Redis
    expect(await w.handle(cmd).catch((err: unknown) => err)).toBeInstanceOf(PermanentError);
    // published twice under one msg id (core subscribers see both); the stream, which the notifier reads, keeps one
    const both = await waitFor(() => (deadEvents('dup-dead').length === 2 ? deadEvents('dup-dead') : undefined));
    expect(both[0].headers['Nats-Msg-Id']).toBeTruthy();
    expect(both[1].headers['Nats-Msg-Id']).toBe(both[0].headers['Nats-Msg-Id']);
    expect(await storedDead('dup-dead')).toBe(1);
    expect(r.requests).toHaveLength(0);
  });
});
