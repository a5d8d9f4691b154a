import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PermanentError, TransientError } from '@vigil/shared';
import { waitFor } from '@vigil/shared/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SendCommand } from '../src/worker-io.js';
import { startWebhooksService } from '../src/service.js';
import type { Harness } from './harness.js';
import { workerKit } from './worker-kit.js';

const kit = workerKit();
const { receiver, closers } = kit;
let h: Harness;
beforeAll(() => {
  h = kit.harness();
});
/** A second, independent delivery worker: another replica. */
const replica = () => kit.worker();

const command = (eventId: string, data: Record<string, unknown>, replaySeq?: number): SendCommand => ({
  id: eventId,
  time: new Date().toISOString(),
  data,
  ...(replaySeq !== undefined ? { replaySeq } : {}),
});

const drained = () => kit.drained(15_000);

const deliveredEvents = (id: string) => h.events.of('webhook.delivered').filter((e) => e.event.data.id === id);

describe('audit fixes', () => {
  it('in-flight lease: a second replica defers while the first is POSTing the same id; one delivery', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const r = await receiver(async () => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((ok) => setTimeout(ok, 800));
      inFlight--;
      return { status: 200 };
    });
    const [a, b] = [replica(), replica()];
    const data = { id: 'lease-1', url: r.url, eventType: 't', payload: {} };
    const first = a.handle(command('evt-a', data));
    await waitFor(() => r.requests.length === 1);
    // the twin (other event id, same data.id) on another replica: deferred, nothing sent
    const twin = await b.handle(command('evt-b', data)).catch((err: unknown) => err);
    expect(twin).toBeInstanceOf(TransientError);
    expect((twin as TransientError).message).toMatch(/is being sent/);
    expect((twin as TransientError).retryAfterMs).toBeLessThanOrEqual(1000);
    await first;
    await waitFor(() => deliveredEvents('lease-1').length === 1);
    // its redelivery after the first settled: already delivered, not sent
    await b.handle(command('evt-b', data));
    expect(r.requests).toHaveLength(1);
    expect(maxInFlight).toBe(1);
    const hash = await h.redis.hgetall('vigil:webhook:lease-1');
    expect(hash).toMatchObject({ status: 'delivered', attempts: '1' });
    expect(hash.inflightUntil).toBeUndefined();
  });

  it('in-flight lease: two services on one NATS and Redis, the same id sent twice, one POST at a time', async () => {
    const second = await startWebhooksService({ env: { ...h.env }, handleSignals: false });
    closers.push(() => second.stop());
    let inFlight = 0;
    let maxInFlight = 0;
    const r = await receiver(async () => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((ok) => setTimeout(ok, 500));
      inFlight--;
      return { status: 200 };
    });
    const body = { id: 'lease-2', url: r.url, eventType: 't', payload: {} };
    for (let i = 0; i < 4; i++) await h.service.runtime.bus.publish('webhook.send', body, { msgId: `lease-2-${i}` });
    await waitFor(() => deliveredEvents('lease-2').length > 0, 15_000);
    await drained();
    expect(deliveredEvents('lease-2')).toHaveLength(1);
    expect(r.requests).toHaveLength(1);
    expect(maxInFlight).toBe(1);
  });

  it('an error body is read to at most ~1 KiB; a body that fails still counts as its status (429 + Retry-After)', async () => {
    let streamed = 0;
    let requests = 0;
    const srv = http.createServer((req, res) => {
      req.resume();
      const i = requests++;
      if (i === 0) {
        // a hostile receiver: an endless error body
        res.writeHead(429, { 'retry-after': '1' });
        const chunk = Buffer.alloc(64 * 1024, 'x');
        let open = true;
        res.on('close', () => {
          open = false;
        });
        const pump = () => {
          while (open && streamed < 2 ** 30) {
            streamed += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
        };
        pump();
      } else if (i === 1) {
        // a body cut off half way
        res.writeHead(429, { 'retry-after': '1', 'content-length': '100000' });
        res.write('partial');
        setTimeout(() => res.socket?.destroy(), 50);
      } else {
        res.writeHead(200).end();
      }
    });
    await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
    closers.push(() => new Promise((ok) => srv.close(ok)));
    srv.on('request', () => {});
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/hook`;
    await h.api('POST', '/api/webhooks', { id: 'big-body', url, eventType: 't', payload: {} });
    await waitFor(() => deliveredEvents('big-body').length === 1, 15_000);
    const failed = h.events.of('webhook.attempt-failed').filter((e) => e.event.data.id === 'big-body');
    expect(failed.map((e) => e.event.data.status)).toEqual([429, 429]);
    for (const f of failed) expect(Date.parse(f.event.data.nextAttemptAt) - Date.parse(f.event.data.at)).toBe(1000);
    expect(failed[0].event.data.error.message).toMatch(/^HTTP 429: x{200}$/);
    expect(streamed).toBeLessThan(64 * 1024 * 1024);
    expect(deliveredEvents('big-body')[0].event.data).toMatchObject({ attempt: 3 });
  });

  it('a redelivered replay does not bring a dead webhook back again; a new replay does', async () => {
    const r = await receiver(() => ({ status: 400 }));
    const w = replica();
    const data = { id: 'replay-once', url: r.url, eventType: 't', payload: {} };
    await expect(w.handle(command('e', data))).rejects.toBeInstanceOf(PermanentError);
    // the replayed dead letter (stream seq 1000): one more attempt, dead again
    await expect(w.handle(command('e', data, 1000))).rejects.toBeInstanceOf(PermanentError);
    expect(r.requests).toHaveLength(2);
    // the same replayed message redelivered (crash before its dead-lettering): stays dead, nothing sent
    await expect(w.handle(command('e', data, 1000))).rejects.toThrow(/is dead/);
    expect(r.requests).toHaveLength(2);
    expect(await h.redis.hget('vigil:webhook:replay-once', 'status')).toBe('dead');
    // a new replay (another message) is sent again
    await expect(w.handle(command('e', data, 1001))).rejects.toBeInstanceOf(PermanentError);
    expect(r.requests).toHaveLength(3);
  });

  it('a replayed message never brings a delivered webhook back, by its status or by its id-only marker', async () => {
    const r = await receiver(() => ({ status: 200 }));
    const w = replica();
    const data = { id: 'replay-delivered', url: r.url, eventType: 't', payload: {} };
    await w.handle(command('e', data));
    // a replay (stream seq 2000) of a dead letter of this id: acked, nothing sent, still delivered
    await w.handle(command('e', data, 2000));
    const hash = await h.redis.hgetall('vigil:webhook:replay-delivered');
    expect(hash).toMatchObject({ status: 'delivered', attempts: '1' });
    expect(hash.replayedSeq).toBeUndefined();
    // the 30-minute status is gone, the marker is left: another replay creates nothing and sends nothing
    await h.redis.del('vigil:webhook:replay-delivered');
    await w.handle(command('e', data, 2001));
    expect(await h.redis.exists('vigil:webhook:replay-delivered')).toBe(0);
    expect(await h.redis.exists('vigil:webhook-delivered:replay-delivered')).toBe(1);
    expect(r.requests).toHaveLength(1);
  });

  it('a delivered id is never sent again after its 30-minute status expired (7-day id-only marker)', async () => {
    const r = await receiver(() => ({ status: 200 }));
    const body = { id: 'marker-1', url: r.url, eventType: 't', payload: {} };
    await h.api('POST', '/api/webhooks', body);
    await waitFor(() => deliveredEvents('marker-1').length === 1);
    expect(await h.redis.ttl('vigil:webhook-delivered:marker-1')).toBeGreaterThan(604_790);
    await h.redis.del('vigil:webhook:marker-1'); // the status hash's 30 minutes are over
    expect((await h.api('POST', '/api/webhooks', body)).body).toMatchObject({ id: 'marker-1', status: 'delivered' });
    await h.service.runtime.bus.publish('webhook.send', body, { msgId: 'marker-1-again' });
    await drained();
    expect(r.requests).toHaveLength(1);
    expect(deliveredEvents('marker-1')).toHaveLength(1);
  });

  it('the index drops entries older than the status TTL when webhooks are added', async () => {
    const old = Date.now() - 8 * 24 * 3600_000;
    await h.redis.zadd('vigil:webhooks:index', old, 'ancient-1', old + 1, 'ancient-2');
    const r = await receiver(() => ({ status: 200 }));
    await h.api('POST', '/api/webhooks', { id: 'index-new', url: r.url, eventType: 't', payload: {} });
    expect(await h.redis.zscore('vigil:webhooks:index', 'ancient-1')).toBeNull();
    expect(await h.redis.zscore('vigil:webhooks:index', 'ancient-2')).toBeNull();
    expect(await h.redis.zscore('vigil:webhooks:index', 'index-new')).not.toBeNull();
    await waitFor(() => deliveredEvents('index-new').length === 1);
  });
});
