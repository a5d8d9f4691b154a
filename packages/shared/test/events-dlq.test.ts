import { connect, headers, type NatsConnection } from 'nats';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  EventBus,
  PermanentError,
  registerSecretValue,
  removeDlqEntry,
  RetriesExhaustedError,
  TransientError,
  unregisterSecretValue,
} from '@vigil/shared';
import { collectEvents, startNats, type TestServer, waitFor } from '@vigil/shared/testing';

const logger = pino({ level: 'silent' });
let nats: TestServer;
let nc: NatsConnection;
let bus: EventBus;
const registry = new Registry();

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  bus = new EventBus(nc, { service: 'dlq-test', logger, registry });
  await bus.ensureStreams();
});
afterAll(async () => {
  await bus.drain();
  await nc.close();
  await nats.stop();
});

describe('dead-letter path', () => {
  it('retries a TransientError with growing delays, then dead-letters on the last delivery with the error headers', async () => {
    const dlq = collectEvents(nc, 'dlq.>');
    const at: number[] = [];
    const h = await bus.consume({
      subject: 'job.trigger.flaky',
      durable: 'flaky',
      maxDeliver: 3,
      backoffMs: [200, 600],
      handler: async (_e, ctx) => {
        at.push(Date.now());
        expect(ctx.deliveryCount).toBe(at.length);
        throw new TransientError('upstream 503');
      },
    });
    const ack = await bus.publish('job.trigger.flaky', { reason: 'x' }, { correlationId: 'corr-flaky' });
    const [d] = await dlq.waitFor('dlq.job.trigger.flaky', 1, 10_000);
    expect(at).toHaveLength(3);
    expect(at[1] - at[0]).toBeGreaterThanOrEqual(180);
    expect(at[2] - at[1]).toBeGreaterThanOrEqual(580);
    expect(d.headers).toMatchObject({
      'Vigil-Error': 'upstream 503',
      'Vigil-Error-Class': 'transient',
      'Vigil-Deliveries': '3',
      'Vigil-Original-Subject': 'job.trigger.flaky',
      'Vigil-Correlation-Id': 'corr-flaky',
    });
    expect(d.event.data).toEqual({ reason: 'x' });
    // not redelivered after dead-lettering
    const jsm = await bus.jetstreamManager();
    await waitFor(async () => (await jsm.consumers.info('VIGIL_JOBS', 'flaky')).num_ack_pending === 0);
    expect(at).toHaveLength(3);
    expect(ack.seq).toBeGreaterThan(0);
    expect(await registry.getSingleMetricAsString('vigil_dlq_messages_total')).toContain(
      'subject="job.trigger.flaky"} 1',
    );
    await h.stop();
    dlq.stop();
  });

  it('sends malformed messages to the DLQ on their first delivery without calling the handler, and says so', async () => {
    const dlq = collectEvents(nc, 'dlq.>');
    let called = 0;
    const lines: Record<string, unknown>[] = [];
    const loud = new EventBus(nc, {
      service: 'dlq-test',
      logger: pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l)) }),
      registry: new Registry(),
    });
    const h = await loud.consume({
      subject: 'job.trigger.garbage',
      durable: 'garbage',
      handler: async () => {
        called++;
      },
    });
    const js = nc.jetstream();
    await js.publish('job.trigger.garbage', new TextEncoder().encode('{not json'));
    await js.publish('job.trigger.garbage', new TextEncoder().encode(JSON.stringify({ hello: 'world' })));
    const hdr = headers();
    hdr.set('Vigil-Correlation-Id', 'bad-data');
    await js.publish(
      'job.trigger.garbage',
      new TextEncoder().encode(
        JSON.stringify({
          specversion: '1.0',
          id: 'x',
          source: 'vigil/other',
          type: 'vigil.job.trigger',
          time: new Date().toISOString(),
          subject: 'job.trigger.garbage',
          datacontenttype: 'application/json',
          data: { reason: 42 },
        }),
      ),
      { headers: hdr },
    );
    const got = await dlq.waitFor('dlq.job.trigger.garbage', 3);
    expect(called).toBe(0);
    for (const d of got) {
      expect(d.headers['Vigil-Error-Class']).toBe('validation');
      expect(d.headers['Vigil-Deliveries']).toBe('1');
    }
    expect(got[0].headers['Vigil-Error']).toMatch(/not JSON/);
    expect(got[1].headers['Vigil-Error']).toMatch(/envelope/);
    expect(got[2].headers['Vigil-Error']).toMatch(/reason/);
    expect(got[2].headers['Vigil-Correlation-Id']).toBe('bad-data');
    // nobody is left guessing why an event vanished: one warning per refused message, with the reason
    const refused = lines.filter((l) => l.msg === 'message refused: dead-lettered (vigil dlq list)');
    expect(refused.map((l) => [l.level, l.subject, l.reason])).toEqual([
      [40, 'job.trigger.garbage', 'payload is not JSON'],
      [40, 'job.trigger.garbage', expect.stringMatching(/^bad CloudEvent envelope/)],
      [40, 'job.trigger.garbage', expect.stringMatching(/^invalid job.trigger.garbage data: reason/)],
    ]);
    expect(refused[2].eventId).toBe('x');
    await h.stop();
    dlq.stop();
  });

  it('dead-letters a PermanentError without retrying', async () => {
    const dlq = collectEvents(nc, 'dlq.>');
    let calls = 0;
    const h = await bus.consume({
      subject: 'job.trigger.perm',
      durable: 'perm',
      maxDeliver: 5,
      handler: async () => {
        calls++;
        throw new PermanentError('404 company gone', { code: ErrorCode.NOT_FOUND });
      },
    });
    await bus.publish('job.trigger.perm', { reason: 'x' });
    const [d] = await dlq.waitFor('dlq.job.trigger.perm');
    expect(calls).toBe(1);
    expect(d.headers['Vigil-Error-Class']).toBe('permanent');
    expect(d.headers['Vigil-Error-Code']).toBe(ErrorCode.NOT_FOUND);
    await h.stop();
    dlq.stop();
  });

  it('dead-letters a RetriesExhaustedError at once, still classed transient (a replay may succeed)', async () => {
    const dlq = collectEvents(nc, 'dlq.>');
    let calls = 0;
    const h = await bus.consume({
      subject: 'job.trigger.spent',
      durable: 'spent',
      maxDeliver: 5,
      handler: async () => {
        calls++;
        throw new RetriesExhaustedError('gave up after 4 attempts: HTTP 503');
      },
    });
    await bus.publish('job.trigger.spent', { reason: 'x' });
    const [d] = await dlq.waitFor('dlq.job.trigger.spent');
    expect(calls).toBe(1);
    expect(d.headers['Vigil-Error-Class']).toBe('transient');
    expect(d.headers['Vigil-Error-Code']).toBe(ErrorCode.RETRIES_EXHAUSTED);
    await h.stop();
    dlq.stop();
  });

  it('keeps registered secret values and URL passwords out of the Vigil-Error header', async () => {
    const secret = 'dlq-Key-5e1f0c9a';
    registerSecretValue(secret);
    try {
      const dlq = collectEvents(nc, 'dlq.>');
      const h = await bus.consume({
        subject: 'job.trigger.leaky',
        durable: 'leaky',
        handler: async () => {
          throw new PermanentError(`upstream rejected ${secret} via https://bot:${secret}@api.example/x`);
        },
      });
      await bus.publish('job.trigger.leaky', { reason: 'x' });
      const [d] = await dlq.waitFor('dlq.job.trigger.leaky');
      expect(d.headers['Vigil-Error']).toBe('upstream rejected [REDACTED] via https://bot:[REDACTED]@api.example/x');
      expect(JSON.stringify(d.headers)).not.toContain(secret);
      const entry = (await bus.listDlq({ subject: 'job.trigger.leaky' }))[0];
      expect(entry.error).not.toContain(secret);
      await h.stop();
      dlq.stop();
    } finally {
      unregisterSecretValue(secret);
    }
  });

  it('dead-letters a message whose handler keeps outliving ack-wait (server never gives up on its own)', async () => {
    const dlq = collectEvents(nc, 'dlq.>');
    let calls = 0;
    const h = await bus.consume({
      subject: 'job.trigger.hang',
      durable: 'hang',
      maxDeliver: 2,
      ackWaitMs: 400,
      concurrency: 4,
      handler: async (_e, ctx) => {
        calls++;
        await new Promise<void>((r) => ctx.signal.addEventListener('abort', () => r()));
      },
    });
    await bus.publish('job.trigger.hang', { reason: 'x' });
    const [d] = await dlq.waitFor('dlq.job.trigger.hang', 1, 10_000);
    expect(calls).toBe(2);
    expect(d.headers['Vigil-Deliveries']).toBe('3');
    expect(d.headers['Vigil-Error']).toMatch(/ack wait/);
    await h.stop(100);
    dlq.stop();
  });

  it('dead-letters a message too large to copy with the DLQ headers without its payload; replay restores it', async () => {
    const sizes: number[] = [];
    let fail = true;
    const h = await bus.consume({
      subject: 'job.trigger.huge',
      durable: 'huge',
      handler: async (e) => {
        if (fail) throw new PermanentError('rejected');
        sizes.push(String((e.data as { note: string }).note).length);
      },
    });
    // fits the server's max_payload on its own, not with the dead letter's extra headers (in a field of another
    // program's: the trigger's own text fields are bounded far below it)
    const pad = 'x'.repeat(nc.info!.max_payload - 500);
    await bus.publish('job.trigger.huge', { reason: 'huge', note: pad });
    const entry = await waitFor(async () => (await bus.listDlq({ subject: 'job.trigger.huge' }))[0], 10_000);
    expect(entry).toMatchObject({ errorClass: 'permanent', error: 'rejected' });
    const jsm = await bus.jetstreamManager();
    const stored = await jsm.streams.getMessage('VIGIL_DLQ', { seq: entry.seq });
    expect(stored.data.length).toBe(0);
    expect(stored.header.get('Vigil-Payload-Dropped')).toMatch(/bytes: too large/);
    // the consumer was not stuck on it: the next message is handled
    fail = false;
    await bus.publish('job.trigger.huge', { reason: 'small', note: 'small' });
    await waitFor(() => sizes.includes(5));
    await bus.replayDlq(entry.seq);
    await waitFor(() => sizes.includes(pad.length), 10_000);
    await h.stop();
  });

  it('lists dead letters newest first, re-drives one (published again, gone from the DLQ), and reports unknown seqs', async () => {
    const handled: string[] = [];
    let fail = true;
    const h = await bus.consume({
      subject: 'job.trigger.replay',
      durable: 'replay',
      handler: async (e) => {
        if (fail) throw new PermanentError('not yet');
        handled.push(e.id);
      },
    });
    const ack = await bus.publish('job.trigger.replay', { reason: 'again' }, { correlationId: 'corr-r' });
    const jsm = await bus.jetstreamManager();
    const entry = await waitFor(async () =>
      (await bus.listDlq({ subject: 'job.trigger.replay' })).find((x) => x.originalSubject === 'job.trigger.replay'),
    );
    expect(entry).toMatchObject({ errorClass: 'permanent', error: 'not yet', deliveries: 1 });
    const all = await bus.listDlq({ limit: 100 });
    expect(all[0].seq).toBeGreaterThan(all[all.length - 1].seq);
    const depth = await bus.dlqDepth();
    expect(depth).toBe(all.length);
    expect((await bus.listDlq({ subject: 'webhook.>' })).length).toBe(0);

    fail = false;
    const seen = collectEvents(nc, 'job.trigger.replay');
    const r = await bus.replayDlq(entry.seq);
    expect(r).toMatchObject({
      dlqSeq: entry.seq,
      subject: 'job.trigger.replay',
      stream: 'VIGIL_JOBS',
      duplicate: false,
      removed: true,
    });
    expect(r.keptReason).toBeUndefined();
    expect(r.seq).toBeGreaterThan(ack.seq);
    await waitFor(() => handled.length === 1);
    const [replayed] = await seen.waitFor('job.trigger.replay');
    expect(replayed.headers['Nats-Msg-Id']).toBe(`${entry.eventId}.replay.${entry.seq}`);
    expect(replayed.headers['Vigil-Correlation-Id']).toBe('corr-r');
    expect(replayed.headers['Vigil-Replay-Of']).toBe(String(entry.seq));
    expect(replayed.headers['Vigil-Error']).toBeUndefined();

    // re-driven: no longer listed, the depth (what health reports) dropped, the seq is unknown from now on
    expect((await bus.listDlq({ limit: 100 })).map((e) => e.seq)).not.toContain(entry.seq);
    expect(await bus.dlqDepth()).toBe(depth - 1);
    const lastJobSeq = (await jsm.streams.info('VIGIL_JOBS')).state.last_seq;
    await expect(bus.replayDlq(entry.seq)).rejects.toMatchObject({ code: ErrorCode.DLQ_MESSAGE_NOT_FOUND });
    await expect(bus.replayDlq(999_999)).rejects.toMatchObject({ code: ErrorCode.DLQ_MESSAGE_NOT_FOUND });
    // neither published anything
    expect((await jsm.streams.info('VIGIL_JOBS')).state.last_seq).toBe(lastJobSeq);
    expect(await bus.dlqDepth()).toBe(depth - 1);
    expect(handled).toHaveLength(1);
    await h.stop();
    seen.stop();
  });

  it('a replayed message that fails again is dead-lettered again, as a new entry', async () => {
    let calls = 0;
    const h = await bus.consume({
      subject: 'job.trigger.again',
      durable: 'again',
      handler: async () => {
        calls++;
        throw new PermanentError('still broken');
      },
    });
    await bus.publish('job.trigger.again', { reason: 'x' });
    const first = await waitFor(async () => (await bus.listDlq({ subject: 'job.trigger.again' }))[0]);
    const r = await bus.replayDlq(first.seq);
    expect(r.removed).toBe(true);
    const second = await waitFor(async () =>
      (await bus.listDlq({ subject: 'job.trigger.again' })).find((e) => e.seq !== first.seq),
    );
    expect(second.seq).toBeGreaterThan(first.seq);
    expect(second).toMatchObject({ error: 'still broken', data: first.data });
    // the new entry names the replayed copy, which is what a replay of it publishes again
    expect(second.headers['Vigil-Original-Seq']).toBe(String(r.seq));
    expect(second.headers['Vigil-Replay-Of']).toBe(String(first.seq));
    expect((await bus.listDlq({ subject: 'job.trigger.again' })).map((e) => e.seq)).toEqual([second.seq]);
    expect(calls).toBe(2);
    await h.stop();
  });

  it('a dead letter the server refuses to delete stays listed; the replay stands and a second one publishes nothing', async () => {
    // deny_delete cannot be switched off again: a server of its own
    const own = await startNats();
    const ownNc = await connect({ servers: own.url });
    const ownBus = new EventBus(ownNc, { service: 'dlq-kept', logger });
    try {
      await ownBus.ensureStreams();
      const jsm = await ownBus.jetstreamManager();
      const cfg = (await jsm.streams.info('VIGIL_DLQ')).config;
      await jsm.streams.update('VIGIL_DLQ', { ...cfg, deny_delete: true });
      const handled: string[] = [];
      let fail = true;
      const h = await ownBus.consume({
        subject: 'job.trigger.kept',
        durable: 'kept',
        handler: async (e) => {
          if (fail) throw new PermanentError('not yet');
          handled.push(e.id);
        },
      });
      await ownBus.publish('job.trigger.kept', { reason: 'x' });
      const entry = await waitFor(async () => (await ownBus.listDlq())[0]);
      fail = false;
      const r = await ownBus.replayDlq(entry.seq);
      expect(r).toMatchObject({ dlqSeq: entry.seq, duplicate: false, removed: false });
      expect(r.keptReason).toMatch(/not permitted/);
      await waitFor(() => handled.length === 1);
      expect(await ownBus.dlqDepth()).toBe(1);
      // the kept entry replayed again inside the duplicate window: the same copy, nothing new stored or handled
      const again = await ownBus.replayDlq(entry.seq);
      expect(again).toMatchObject({ duplicate: true, seq: r.seq, removed: false });
      expect((await jsm.streams.info('VIGIL_JOBS')).state.last_seq).toBe(r.seq);
      await waitFor(async () => (await jsm.consumers.info('VIGIL_JOBS', 'kept')).num_ack_pending === 0);
      expect(handled).toHaveLength(1);
      await h.stop();
    } finally {
      await ownBus.drain();
      await ownNc.close();
      await own.stop();
    }
  });
});

describe('removing a dead letter', () => {
  it('one another replay removed first counts as removed (the server answers "sequence not found"), not kept', async () => {
    const js = nc.jetstream();
    const jsm = await nc.jetstreamManager();
    // the stream's first message: a second delete is answered 500 "no message found"
    await jsm.streams.purge('VIGIL_DLQ');
    const first = await js.publish('dlq.job.trigger.gone', new TextEncoder().encode('{}'));
    // one between two others: a sequence deleted inside the stream is answered 400 "sequence N not found"
    const ack = await js.publish('dlq.job.trigger.gone', new TextEncoder().encode('{}'));
    await js.publish('dlq.job.trigger.gone', new TextEncoder().encode('{}'));
    expect(await removeDlqEntry(jsm, ack.seq)).toEqual({ removed: true });
    expect(await removeDlqEntry(jsm, ack.seq)).toEqual({ removed: true });
    expect(await removeDlqEntry(jsm, first.seq)).toEqual({ removed: true });
    expect(await removeDlqEntry(jsm, first.seq)).toEqual({ removed: true });
  });
});
