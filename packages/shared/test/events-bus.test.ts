import { connect, type NatsConnection } from 'nats';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CloudEvent, ErrorCode, EventBus, type JobTrigger, TransientError, ValidationError } from '@vigil/shared';
import { collectEvents, startNats, type TestServer, waitFor } from '@vigil/shared/testing';

const logger = pino({ level: 'silent' });
let nats: TestServer;
let nc: NatsConnection;
let bus: EventBus;
const registry = new Registry();

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  bus = new EventBus(nc, { service: 'test', logger, registry });
  await bus.ensureStreams();
});
afterAll(async () => {
  await bus.drain();
  await nc.close();
  await nats.stop();
});

describe('EventBus publish', () => {
  it('publishes a validated CloudEvent with Nats-Msg-Id and a correlation id, de-duplicated by msgId', async () => {
    const seen = collectEvents(nc, 'job.trigger.>');
    const ack = await bus.publish('job.trigger.daily', { reason: 'ops asked', targets: ['acme'] });
    expect(ack.stream).toBe('VIGIL_JOBS');
    const [e] = await seen.waitFor('job.trigger.daily');
    expect(e.event).toMatchObject({
      specversion: '1.0',
      source: 'vigil/test',
      type: 'vigil.job.trigger',
      subject: 'job.trigger.daily',
      datacontenttype: 'application/json',
      data: { reason: 'ops asked', targets: ['acme'] },
    });
    expect(e.headers['Nats-Msg-Id']).toBe(e.event.id);
    expect(e.headers['Vigil-Correlation-Id']).toBe(e.event.id);

    const first = await bus.publish('job.trigger.daily', { reason: 'a' }, { msgId: 'slot-1', correlationId: 'c-1' });
    const second = await bus.publish('job.trigger.daily', { reason: 'a' }, { msgId: 'slot-1' });
    expect(first.duplicate).toBe(false);
    expect(second.duplicate).toBe(true);
    expect(second.seq).toBe(first.seq);
    const metrics = await registry.getSingleMetricAsString('vigil_events_published_total');
    expect(metrics).toContain('subject="job.trigger.daily"');
    seen.stop();
  });

  it('refuses invalid data with a ValidationError and stores nothing', async () => {
    const jsm = await bus.jetstreamManager();
    const before = (await jsm.streams.info('VIGIL_NOTIFY')).state.messages;
    await expect(bus.publish('notify.send', { severity: 'LOUD', title: 'x', body: '' })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(bus.publish('job.unknownverb.x', {})).rejects.toMatchObject({ code: ErrorCode.INVALID_EVENT });
    expect((await jsm.streams.info('VIGIL_NOTIFY')).state.messages).toBe(before);
  });
});

describe('EventBus consume', () => {
  it('delivers each event once to a shared durable and carries the correlation id into nested publishes', async () => {
    const handled: string[] = [];
    const nested = collectEvents(nc, 'notify.send');
    const a = await bus.consume<JobTrigger>({
      subject: 'job.trigger.corr',
      durable: 'corr-test',
      handler: async (event, ctx) => {
        handled.push(event.id);
        expect(ctx.correlationId).toBe('corr-42');
        expect(ctx.deliveryCount).toBe(1);
        expect(ctx.headers['Vigil-Correlation-Id']).toBe('corr-42');
        ctx.log.info('handling');
        await bus.publish('notify.send', { severity: 'INFO', title: event.data.reason, body: 'nested' });
      },
    });
    const ack = await bus.publish('job.trigger.corr', { reason: 'corr' }, { correlationId: 'corr-42' });
    const [n] = await nested.waitFor('notify.send');
    expect(n.headers['Vigil-Correlation-Id']).toBe('corr-42');
    expect(n.event.data.title).toBe('corr');
    expect(handled).toHaveLength(1);
    expect(ack.seq).toBeGreaterThan(0);
    await a.stop();
    nested.stop();
  });

  it('forwards an incoming traceparent to nested publishes even when this process does not trace', async () => {
    const nested = collectEvents(nc, 'notify.send');
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const h = await bus.consume({
      subject: 'job.trigger.passthrough',
      durable: 'passthrough',
      handler: async () => {
        await bus.publish('notify.send', { severity: 'INFO', title: 'pass', body: 'through' });
      },
    });
    await bus.publish('job.trigger.passthrough', { reason: 'x' }, { headers: { traceparent: tp } });
    const [n] = await nested.waitFor('notify.send');
    expect(n.headers.traceparent).toBe(tp);
    await h.stop();
    nested.stop();
  });

  it('runs up to `concurrency` handlers at once and acks them all', async () => {
    let running = 0;
    let peak = 0;
    const done = new Set<string>();
    const h = await bus.consume({
      subject: 'job.trigger.par',
      durable: 'par-test',
      concurrency: 8,
      handler: async (e: CloudEvent) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 30));
        running--;
        done.add(e.id);
      },
    });
    await Promise.all(Array.from({ length: 40 }, (_, i) => bus.publish('job.trigger.par', { reason: `r${i}` })));
    await waitFor(() => done.size === 40, 10_000);
    expect(peak).toBe(8);
    const jsm = await bus.jetstreamManager();
    await waitFor(async () => (await jsm.consumers.info('VIGIL_JOBS', 'par-test')).num_ack_pending === 0);
    await h.stop();
  });

  it('two replicas sharing a durable start at once and split the work, each event handled once', async () => {
    const nc2 = await connect({ servers: nats.url });
    const other = new EventBus(nc2, { service: 'replica-2', logger });
    const byReplica = [new Map<string, number>(), new Map<string, number>()];
    const handler = (i: number) => async (e: CloudEvent) => {
      byReplica[i].set(e.id, (byReplica[i].get(e.id) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 2));
    };
    const [h1, h2] = await Promise.all([
      bus.consume({ subject: 'job.requested.shared', durable: 'shared', handler: handler(0), concurrency: 2 }),
      other.consume({ subject: 'job.requested.shared', durable: 'shared', handler: handler(1), concurrency: 2 }),
    ]);
    const run = {
      job: 'shared',
      attempt: 1,
      trigger: 'schedule',
      scheduledAt: new Date().toISOString(),
      status: 'requested',
    };
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => bus.publish('job.requested.shared', { ...run, runId: `r${i}` })),
    );
    await waitFor(() => byReplica[0].size + byReplica[1].size === 200, 15_000);
    expect(byReplica[0].size).toBeGreaterThan(0);
    expect(byReplica[1].size).toBeGreaterThan(0);
    for (const id of byReplica[0].keys()) expect(byReplica[1].has(id)).toBe(false);
    expect([...byReplica[0].values(), ...byReplica[1].values()].every((n) => n === 1)).toBe(true);
    await Promise.all([h1.stop(), h2.stop()]);
    await nc2.close();
  });

  it('slow handlers never let messages wait in a local buffer past ack-wait (no duplicate handling)', async () => {
    const counts = new Map<string, number>();
    const h = await bus.consume({
      subject: 'job.trigger.slow',
      durable: 'slow',
      concurrency: 1,
      ackWaitMs: 1_000,
      handler: async (e: CloudEvent) => {
        counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 200));
      },
    });
    await Promise.all(Array.from({ length: 12 }, (_, i) => bus.publish('job.trigger.slow', { reason: `s${i}` })));
    await waitFor(() => counts.size === 12, 15_000);
    // a duplicate would come as a redelivery, with no event of its own to wait for: a short bounded wait
    await new Promise((r) => setTimeout(r, 300));
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    const jsm = await bus.jetstreamManager();
    expect((await jsm.consumers.info('VIGIL_JOBS', 'slow')).num_redelivered).toBe(0);
    await h.stop();
  });

  it('recreates its durable when an operator deleted it, and keeps consuming', async () => {
    const seen = new Set<string>();
    const h = await bus.consume({
      subject: 'job.trigger.deleted',
      durable: 'deleted',
      handler: async (e: CloudEvent) => {
        seen.add(e.id);
      },
    });
    await bus.publish('job.trigger.deleted', { reason: 'before' });
    await waitFor(() => seen.size === 1);
    const jsm = await bus.jetstreamManager();
    await jsm.consumers.delete('VIGIL_JOBS', 'deleted');
    await waitFor(async () => !!(await jsm.consumers.info('VIGIL_JOBS', 'deleted').catch(() => undefined)), 20_000);
    await bus.publish('job.trigger.deleted', { reason: 'after' });
    await waitFor(() => seen.size >= 2, 20_000);
    await h.stop();
  }, 45_000);

  it('a handler aborted by shutdown hands its message back; the next instance handles it, nothing dead-lettered', async () => {
    const opts = { subject: 'job.trigger.abort', durable: 'abort-test', maxDeliver: 2, ackWaitMs: 1_000 };
    const first = new EventBus(nc, { service: 'aborted', logger });
    let started = false;
    let firstId = '';
    await first.consume({
      ...opts,
      handler: async (e, ctx) => {
        started = true;
        firstId = e.id;
        await new Promise((_r, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
      },
    });
    await bus.publish('job.trigger.abort', { reason: 'long run' });
    await waitFor(() => started);
    await first.drain(100);
    const next = new EventBus(nc, { service: 'aborted-2', logger });
    const handled: string[] = [];
    await next.consume({
      ...opts,
      handler: async (e) => {
        handled.push(e.id);
      },
    });
    await waitFor(() => handled.length > 0, 10_000);
    // The same event, run to completion by the next instance. Its delivery count is not asserted: nats-server 2.9
    // occasionally reports 1 for a message handed back by a consumer whose pull request was just withdrawn.
    expect(handled).toEqual([firstId]);
    expect((await bus.listDlq({ subject: 'job.trigger.abort' })).length).toBe(0);
    await next.drain();
  });

  it('a failure during shutdown that named its next try (Retry-After) is handed back with that delay, not at once', async () => {
    const opts = { subject: 'job.trigger.rested', durable: 'rested-test', maxDeliver: 5, ackWaitMs: 1_000 };
    const first = new EventBus(nc, { service: 'rested', logger });
    let started = false;
    await first.consume({
      ...opts,
      handler: async (_e, ctx) => {
        started = true;
        // the receiver answers 429 "come back in an hour" while the instance is draining
        await new Promise((r) => ctx.signal.addEventListener('abort', r));
        throw new TransientError('HTTP 429', { retryAfterMs: 3_600_000 });
      },
    });
    await bus.publish('job.trigger.rested', { reason: 'rate limited' });
    await waitFor(() => started);
    await first.drain(100);
    const next = new EventBus(nc, { service: 'rested-2', logger });
    const handled: string[] = [];
    await next.consume({ ...opts, handler: async (e) => void handled.push(e.id) });
    // handed back at once, the next instance would have it within milliseconds; past the ack wait it still has not
    await new Promise((r) => setTimeout(r, 1_500));
    expect(handled).toEqual([]);
    expect((await bus.listDlq({ subject: 'job.trigger.rested' })).length).toBe(0);
    await next.drain();
  });

  it('drain waits for an in-flight handler to finish before returning', async () => {
    const b2 = new EventBus(nc, { service: 'drainer', logger });
    let finished = false;
    let started = false;
    await b2.consume({
      subject: 'job.trigger.drain',
      durable: 'drain-test',
      handler: async () => {
        started = true;
        await new Promise((r) => setTimeout(r, 300));
        finished = true;
      },
    });
    await bus.publish('job.trigger.drain', { reason: 'x' });
    await waitFor(() => started);
    await b2.drain(5_000);
    expect(finished).toBe(true);
  });

  it('a publish while NATS is down rejects loudly with NATS_UNAVAILABLE instead of vanishing', async () => {
    const nc2 = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    const b3 = new EventBus(nc2, { service: 'outage', logger, publishTimeoutMs: 1_000 });
    await nats.kill();
    try {
      await expect(b3.publish('job.trigger.down', { reason: 'x' })).rejects.toMatchObject({
        code: ErrorCode.NATS_UNAVAILABLE,
        errorClass: 'transient',
      });
    } finally {
      await nats.restart();
    }
    await waitFor(async () => (await b3.publish('job.trigger.down', { reason: 'back' })).seq > 0, 15_000);
    await nc2.close();
  });
});
