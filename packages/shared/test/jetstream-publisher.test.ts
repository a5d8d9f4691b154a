import {
  ErrorCode,
  JetStreamPublishError,
  JetStreamPublisher,
  jetStreamPublisher,
  publishDurable,
  TransientError,
} from '@vigil/shared';
import { startNats, type TestServer } from '@vigil/shared/testing';
import { connect, type JetStreamManager, type NatsConnection, StorageType } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Every event a service emits goes through JetStreamPublisher: a publish must be stored exactly once
// (msgID de-duplication), carry its headers intact, and fail loudly and fast when nothing can store it.
const enc = new TextEncoder();
const dec = new TextDecoder();
let nats: TestServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url, name: 'jetstream-publisher-test' });
  jsm = await nc.jetstreamManager();
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await nc?.close();
  await nats?.stop();
});

let streamNo = 0;
/** A fresh stream on `<name>.>` so tests never see each other's messages. */
async function freshStream(m: JetStreamManager = jsm, storage = StorageType.Memory): Promise<string> {
  const name = `PUB_${++streamNo}_${Date.now()}`;
  await m.streams.add({ name, subjects: [`${name.toLowerCase()}.>`], storage });
  return name;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject');
}

describe('JetStreamPublisher stores each message once', () => {
  it('1,000 concurrent publishes get distinct seqs; re-publishing their msgIDs is a duplicate', async () => {
    const stream = await freshStream();
    const subject = `${stream.toLowerCase()}.load`;
    const pub = jetStreamPublisher(nc);
    expect(jetStreamPublisher(nc)).toBe(pub);

    const acks = await Promise.all(
      Array.from({ length: 1_000 }, (_, i) => pub.publish(subject, enc.encode(`m-${i}`), { msgID: `load-${i}` })),
    );
    expect(acks.every((a) => a.stream === stream && a.duplicate === false)).toBe(true);
    expect(new Set(acks.map((a) => a.seq)).size).toBe(1_000);
    expect(Math.min(...acks.map((a) => a.seq))).toBe(1);
    expect(Math.max(...acks.map((a) => a.seq))).toBe(1_000);
    expect((await jsm.streams.info(stream)).state.messages).toBe(1_000);
    expect(pub.inFlight).toBe(0);

    const again = await Promise.all(
      Array.from({ length: 10 }, (_, i) => pub.publish(subject, enc.encode(`again-${i}`), { msgID: `load-${i}` })),
    );
    for (const [i, ack] of again.entries()) {
      expect(ack.duplicate).toBe(true);
      expect(ack.seq).toBe(acks[i].seq);
    }
    expect((await jsm.streams.info(stream)).state.messages).toBe(1_000);
  });
});

describe('JetStreamPublisher headers', () => {
  it('plain pairs arrive intact with Nats-Msg-Id, and a CR/LF in a value cannot inject a header', async () => {
    const stream = await freshStream();
    const subject = `${stream.toLowerCase()}.headers`;
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const ack = await jetStreamPublisher(nc).publish(subject, enc.encode('{"ok":true}'), {
      msgID: 'hdr-1',
      headers: {
        'Vigil-Correlation-Id': 'c-1',
        traceparent,
        'Vigil-Note': 'first line\r\nInjected: yes\nAlso-Injected: yes',
      },
    });
    expect(ack).toMatchObject({ stream, seq: 1, duplicate: false });

    const stored = await jsm.streams.getMessage(stream, { seq: ack.seq });
    expect(stored.subject).toBe(subject);
    expect(dec.decode(stored.data)).toBe('{"ok":true}');
    expect(stored.header.get('Nats-Msg-Id')).toBe('hdr-1');
    expect(stored.header.get('Vigil-Correlation-Id')).toBe('c-1');
    expect(stored.header.get('traceparent')).toBe(traceparent);
    // flattened onto one line: still one header, nothing smuggled in
    expect(stored.header.get('Vigil-Note')).toBe('first line Injected: yes Also-Injected: yes');
    expect(stored.header.has('Injected')).toBe(false);
    expect(stored.header.has('Also-Injected')).toBe(false);
    expect(stored.header.keys().sort()).toEqual(['Nats-Msg-Id', 'Vigil-Correlation-Id', 'Vigil-Note', 'traceparent']);

    // the msgID de-duplicates through the raw header block too
    const dup = await jetStreamPublisher(nc).publish(subject, enc.encode('x'), {
      msgID: 'hdr-1',
      headers: { 'Vigil-Correlation-Id': 'c-2' },
    });
    expect(dup).toMatchObject({ seq: 1, duplicate: true });
    expect((await jsm.streams.info(stream)).state.messages).toBe(1);
  });
});

describe('JetStreamPublisher failures', () => {
  it('a subject no stream listens on rejects with 503 at once; publishDurable gives up at its deadline', async () => {
    const pub = jetStreamPublisher(nc);
    const t0 = Date.now();
    const err = await rejection(
      pub.publish('nobody.listens.here', enc.encode('x'), { msgID: 'n-1', timeoutMs: 5_000 }),
    );
    expect(err).toBeInstanceOf(JetStreamPublishError);
    expect(err).toMatchObject({ code: '503' });
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(pub.inFlight).toBe(0);

    const t1 = Date.now();
    const durable = await rejection(
      publishDurable(pub, 'nobody.listens.here', enc.encode('x'), { msgID: 'n-2', timeoutMs: 500 }),
    );
    const took = Date.now() - t1;
    expect(durable).toBeInstanceOf(TransientError);
    expect(durable).toMatchObject({ code: ErrorCode.NATS_UNAVAILABLE, details: { natsCode: '503' } });
    expect((durable as TransientError).cause).toBeInstanceOf(JetStreamPublishError);
    // it kept retrying until (almost) the deadline, then stopped
    expect(took).toBeGreaterThanOrEqual(350);
    expect(took).toBeLessThan(2_000);
  });

  it('a JetStream API error rejects with its code and api_error', async () => {
    const stream = await freshStream();
    const err = await rejection(
      jetStreamPublisher(nc).publish(`${stream.toLowerCase()}.expect`, enc.encode('x'), {
        headers: { 'Nats-Expected-Stream': 'SOME_OTHER_STREAM' },
      }),
    );
    expect(err).toBeInstanceOf(JetStreamPublishError);
    expect(err).toMatchObject({ code: '400', api_error: { code: 400, err_code: 10060 } });
    expect((await jsm.streams.info(stream)).state.messages).toBe(0);
  });

  it('a closed connection rejects at once with CONNECTION_CLOSED', async () => {
    const closed = await connect({ servers: nats.url, name: 'closed' });
    const pub = jetStreamPublisher(closed);
    await closed.close();
    const t0 = Date.now();
    const err = await rejection(pub.publish('pub.closed', enc.encode('x'), { msgID: 'c-1', timeoutMs: 5_000 }));
    expect(err).toBeInstanceOf(JetStreamPublishError);
    expect(err).toMatchObject({ code: 'CONNECTION_CLOSED' });
    const fresh = await rejection(new JetStreamPublisher(closed).publish('pub.closed', enc.encode('x')));
    expect(fresh).toMatchObject({ code: 'CONNECTION_CLOSED' });
    // not retried: the durable publish fails loudly at once too
    const durable = await rejection(publishDurable(pub, 'pub.closed', enc.encode('x'), { msgID: 'c-2' }));
    expect(durable).toBeInstanceOf(TransientError);
    expect(durable).toMatchObject({ code: ErrorCode.NATS_UNAVAILABLE, details: { natsCode: 'CONNECTION_CLOSED' } });
    expect(Date.now() - t0).toBeLessThan(200);
  });
});

describe('JetStreamPublisher while the broker is down', () => {
  let broker: TestServer;
  let rc: NatsConnection;
  let rjsm: JetStreamManager;

  beforeAll(async () => {
    broker = await startNats();
    rc = await connect({
      servers: broker.url,
      name: 'reconnecting',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
    });
    rjsm = await rc.jetstreamManager();
    cleanups.push(
      () => broker.stop(),
      () => rc.close(),
    );
  });

  it('times out while stopped, and publishDurable succeeds once the broker is back', async () => {
    const stream = await freshStream(rjsm, StorageType.File);
    const subject = `${stream.toLowerCase()}.restart`;
    const pub = jetStreamPublisher(rc);
    expect(await pub.publish(subject, enc.encode('before'), { msgID: 'r-0' })).toMatchObject({ seq: 1 });

    await broker.stop();
    const t0 = Date.now();
    const err = await rejection(pub.publish(subject, enc.encode('during'), { msgID: 'r-1', timeoutMs: 300 }));
    expect(err).toBeInstanceOf(JetStreamPublishError);
    expect(err).toMatchObject({ code: 'TIMEOUT' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(pub.inFlight).toBe(0);

    await broker.start();
    const ack = await publishDurable(pub, subject, enc.encode('during'), { msgID: 'r-1', timeoutMs: 8_000 });
    // the copy buffered while disconnected may have been stored first: either way it is stored once, as seq 2
    expect(ack).toMatchObject({ stream, seq: 2 });
    const info = await rjsm.streams.info(stream);
    expect(info.state.messages).toBe(2);
    expect(dec.decode((await rjsm.streams.getMessage(stream, { seq: 1 })).data)).toBe('before');
    expect(dec.decode((await rjsm.streams.getMessage(stream, { seq: 2 })).data)).toBe('during');
  }, 15_000);

  it('a publish waiting for its PubAck rejects with CONNECTION_CLOSED when the connection closes', async () => {
    const doomed = await connect({ servers: broker.url, name: 'doomed', maxReconnectAttempts: -1 });
    cleanups.push(() => doomed.close());
    await broker.stop();
    try {
      const pending = rejection(
        jetStreamPublisher(doomed).publish('pub.doomed', enc.encode('x'), { timeoutMs: 10_000 }),
      );
      expect(jetStreamPublisher(doomed).inFlight).toBe(1);
      const t0 = Date.now();
      await doomed.close();
      const err = await pending;
      expect(err).toBeInstanceOf(JetStreamPublishError);
      expect(err).toMatchObject({ code: 'CONNECTION_CLOSED' });
      expect(Date.now() - t0).toBeLessThan(1_000);
      expect(jetStreamPublisher(doomed).inFlight).toBe(0);
    } finally {
      await broker.start();
    }
  }, 15_000);
});
