import { type PulledMessage, PullConsumer, type PullConsumerOptions } from '@vigil/shared';
import { startNats, type TestServer, waitFor } from '@vigil/shared/testing';
import { AckPolicy, connect, createInbox, type JetStreamManager, type NatsConnection, nanos } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The job runners take their work through PullConsumer: they must get exactly what they ask for, see a
// message again only when they say so (nak) or when they went silent past ack-wait, and hear when the
// consumer is gone or a pull came back empty, so they can ask again instead of stalling.
const enc = new TextEncoder();
const dec = new TextDecoder();
let nats: TestServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
const consumers: PullConsumer[] = [];

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url, name: 'pull-consumer-test' });
  jsm = await nc.jetstreamManager();
});
afterAll(async () => {
  for (const c of consumers) c.stop();
  await nc?.close();
  await nats?.stop();
});

let streamNo = 0;
/** A fresh stream holding `count` messages `m-0`…, and a durable with explicit acks on it. */
async function setup(count: number, ackWaitMs = 30_000): Promise<{ stream: string; durable: string; subject: string }> {
  const stream = `PULL_${++streamNo}_${Date.now()}`;
  const subject = `${stream.toLowerCase()}.work`;
  await jsm.streams.add({ name: stream, subjects: [subject] });
  const js = nc.jetstream();
  for (let i = 0; i < count; i++) await js.publish(subject, enc.encode(`m-${i}`));
  const durable = 'runner';
  await jsm.consumers.add(stream, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(ackWaitMs),
  });
  return { stream, durable, subject };
}

interface Recorder {
  consumer: PullConsumer;
  got: PulledMessage[];
  lost: string[];
  drained: number;
}

function pullConsumer(
  opts: Omit<PullConsumerOptions, 'onMessage' | 'onLost' | 'onDrained'>,
  onMessage: (m: PulledMessage) => void = (m) => m.ack(),
): Recorder {
  const r: Recorder = { got: [], lost: [], drained: 0 } as unknown as Recorder;
  r.consumer = new PullConsumer(nc, {
    ...opts,
    onMessage: (m) => {
      r.got.push(m);
      onMessage(m);
    },
    onLost: (why) => r.lost.push(why),
    onDrained: () => {
      r.drained++;
    },
  });
  consumers.push(r.consumer);
  return r;
}

describe('PullConsumer delivery', () => {
  it('header(name) reads a delivered message header like msg.headers.get, without or with headers', async () => {
    const { stream, durable, subject } = await setup(1);
    const { headers } = await import('nats');
    const h = headers();
    h.set('Vigil-Correlation-Id', 'corr-42');
    h.set('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    h.set('X-Note', 'café');
    await nc.jetstream().publish(subject, enc.encode('with-headers'), { headers: h, msgID: 'm-h' });
    const r = pullConsumer({ stream, durable });
    r.consumer.pull(2);
    await waitFor(() => r.got.length === 2, { message: '2 delivered' });
    const [plain, withHeaders] = r.got;
    expect(plain.header('Vigil-Correlation-Id')).toBeUndefined();
    for (const name of ['Vigil-Correlation-Id', 'traceparent', 'X-Note', 'Nats-Msg-Id']) {
      expect(withHeaders.header(name)).toBe(withHeaders.headers?.get(name));
    }
    expect(withHeaders.header('Vigil-Correlation-Id')).toBe('corr-42');
    expect(withHeaders.header('X-Note')).toBe('café');
    expect(withHeaders.header('Missing')).toBeUndefined();
  });

  it('pull(n) delivers exactly n; all acked leaves nothing pending', async () => {
    const { stream, durable } = await setup(20);
    const r = pullConsumer({ stream, durable });

    r.consumer.pull(5);
    expect(r.consumer.outstanding).toBe(5);
    await waitFor(() => r.got.length === 5, { message: '5 delivered' });
    expect(r.consumer.outstanding).toBe(0);
    // the server delivered only what was asked for: 15 still wait in the stream, none unacked
    await waitFor(async () => {
      const info = await jsm.consumers.info(stream, durable);
      return info.num_pending === 15 && info.num_ack_pending === 0 && info.delivered.consumer_seq === 5;
    });
    expect(r.got).toHaveLength(5);

    for (const m of r.got) {
      const stored = await jsm.streams.getMessage(stream, { seq: m.info.streamSequence });
      expect(dec.decode(m.data)).toBe(dec.decode(stored.data));
      expect(m.subject).toBe(stored.subject);
      const { info } = m;
      expect({
        stream: info.stream,
        consumer: info.consumer,
        streamSequence: info.streamSequence,
        deliveryCount: info.deliveryCount,
        redelivered: info.redelivered,
      }).toEqual({
        stream,
        consumer: durable,
        streamSequence: stored.seq,
        deliveryCount: 1,
        redelivered: false,
      });
    }
    expect(r.got.map((m) => dec.decode(m.data))).toEqual(['m-0', 'm-1', 'm-2', 'm-3', 'm-4']);

    r.consumer.pull(10);
    r.consumer.pull(10);
    await waitFor(() => r.got.length === 20, { message: 'all 20 delivered' });
    expect(new Set(r.got.map((m) => m.info.streamSequence)).size).toBe(20);
    expect(r.got.every((m) => m.info.deliveryCount === 1)).toBe(true);
    // the second request got only the 5 left: it still waits for 5 more
    expect(r.consumer.outstanding).toBe(5);
    await waitFor(async () => {
      const info = await jsm.consumers.info(stream, durable);
      return info.num_pending === 0 && info.num_ack_pending === 0 && info.num_redelivered === 0;
    });
    expect(r.lost).toEqual([]);
  });

  it('nak(delayMs) redelivers after the delay; term() never redelivers', async () => {
    const { stream, durable } = await setup(2, 1_000);
    let nakAt = 0;
    const r = pullConsumer({ stream, durable, expiresMs: 2_500 }, () => {});

    r.consumer.pull(2);
    await waitFor(() => r.got.length === 2);
    const [first, second] = r.got;
    expect(first.info).toMatchObject({ streamSequence: 1, deliveryCount: 1, redelivered: false });
    second.term();
    nakAt = Date.now();
    first.nak(1_500);
    first.ack(); // ignored: the nak already settled it

    r.consumer.pull(1);
    await waitFor(() => r.got.length === 3, { message: 'nak redelivered', timeout: 5_000 });
    const receivedAt = Date.now();
    const again = r.got[2];
    // the delay (1.5 s) is longer than ack_wait (1 s): it was the nak delay, not ack-wait, that decided
    expect(receivedAt - nakAt).toBeGreaterThanOrEqual(1_450);
    expect(again.info).toMatchObject({ streamSequence: 1, deliveryCount: 2, redelivered: true });
    expect(dec.decode(again.data)).toBe('m-0');
    again.ack();

    // The termed message is not pending for anyone and never comes back, even past ack-wait.
    await waitFor(async () => {
      const info = await jsm.consumers.info(stream, durable);
      return info.num_ack_pending === 0 && info.num_pending === 0;
    });
    const drainedBefore = r.drained;
    r.consumer.pull(1);
    await waitFor(() => r.drained > drainedBefore, { message: 'empty pull expired', timeout: 5_000 });
    expect(r.got).toHaveLength(3);
    expect(r.got.filter((m) => m.info.streamSequence === 2)).toHaveLength(1);
    const info = await jsm.consumers.info(stream, durable);
    expect(info).toMatchObject({ num_ack_pending: 0, num_pending: 0, num_redelivered: 0 });
  }, 15_000);

  it('working() keeps a slow message from being redelivered past its ack wait', async () => {
    const { stream, durable } = await setup(1, 1_000);
    const a = pullConsumer({ stream, durable }, () => {});
    a.consumer.pull(1);
    await waitFor(() => a.got.length === 1);
    const held = a.got[0];
    const heldAt = Date.now();

    // Another replica asks on the same durable the whole time: a redelivery would go to it.
    const b = pullConsumer({ stream, durable, expiresMs: 3_500 });
    b.consumer.pull(1);
    await waitFor(async () => (await jsm.consumers.info(stream, durable)).num_waiting === 1);

    // Hold it 2.5 × ack_wait, saying "working" every 400 ms.
    await new Promise<void>((resolve) => {
      const beat = setInterval(() => {
        held.working();
        if (Date.now() - heldAt >= 2_500) {
          clearInterval(beat);
          resolve();
        }
      }, 400);
    });
    held.ack();

    // b's pull ends either way: expired (nothing redelivered) or satisfied by a redelivery
    await waitFor(() => b.drained === 1 || b.got.length > 0, { message: "b's pull ended", timeout: 5_000 });
    expect(b.got.map((m) => m.info)).toEqual([]);
    expect(a.got).toHaveLength(1);
    expect(held.info.deliveryCount).toBe(1);
    await waitFor(async () => {
      const info = await jsm.consumers.info(stream, durable);
      return info.num_ack_pending === 0 && info.num_pending === 0;
    });
    expect((await jsm.consumers.info(stream, durable)).num_redelivered).toBe(0);
  }, 15_000);
});

describe('PullConsumer signals', () => {
  it('an empty pull calls onDrained when it expires (408) and leaves nothing outstanding', async () => {
    const { stream, durable } = await setup(0);
    const r = pullConsumer({ stream, durable, expiresMs: 300 });
    const t0 = Date.now();
    r.consumer.pull(3);
    expect(r.consumer.outstanding).toBe(3);
    await waitFor(() => r.drained === 1, { message: 'drained', timeout: 3_000 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(r.consumer.outstanding).toBe(0);
    expect(r.got).toEqual([]);
    expect(r.lost).toEqual([]);
  });

  it('two partly served pulls (the server shares messages between them) expire to exactly nothing outstanding', async () => {
    const { stream, durable, subject } = await setup(0);
    const r = pullConsumer({ stream, durable, expiresMs: 1_000 });
    r.consumer.pull(4);
    r.consumer.pull(4);
    // Both requests wait before anything is stored, so the server shares the 5 messages between them (3 + 2).
    // With the messages stored first, the first request could take 4 at once and never expire.
    await waitFor(async () => (await jsm.consumers.info(stream, durable)).num_waiting === 2);
    for (let i = 0; i < 5; i++) await nc.jetstream().publish(subject, enc.encode(`m-${i}`));
    await waitFor(() => r.got.length === 5, { message: '5 delivered' });
    expect(r.consumer.outstanding).toBe(3);
    await waitFor(() => r.drained === 2, { message: 'both pulls expired', timeout: 3_000 });
    expect(r.consumer.outstanding).toBe(0);
    // well past expiry + grace: nothing is taken for an unanswered pull
    await new Promise((resolve) => setTimeout(resolve, 2_600));
    expect(r.lost).toEqual([]);
  });

  it('calls onLost when the durable is deleted under a waiting pull', async () => {
    const { stream, durable } = await setup(0);
    const r = pullConsumer({ stream, durable, expiresMs: 10_000 });
    r.consumer.pull(4);
    await waitFor(async () => (await jsm.consumers.info(stream, durable)).num_waiting === 1);
    await jsm.consumers.delete(stream, durable);
    await waitFor(() => r.lost.length === 1, { message: 'onLost after delete', timeout: 3_000 });
    expect(r.lost[0]).toMatch(/deleted/i);
    expect(r.consumer.outstanding).toBe(0);
    expect(r.drained).toBe(0);
  });

  it('calls onLost when pulling from a durable that does not exist', async () => {
    const { stream } = await setup(1);
    const r = pullConsumer({ stream, durable: 'never-created', expiresMs: 1_000 });
    r.consumer.pull(1);
    // nats-server 2.9 does not answer at all (newer servers answer 503): once the request is past its expiry
    // and a grace period without an answer, the owner hears of it and can re-create the consumer.
    await waitFor(() => r.lost.length >= 1, { message: 'onLost for a missing durable', timeout: 6_000 });
    expect(r.lost[0]).toMatch(/unanswered|not found|no responders|503/i);
    expect(r.consumer.outstanding).toBe(0);
    expect(r.got).toEqual([]);
  });

  it('a refused pull ("Exceeded MaxWaiting") is asked again a second later, not at once in a loop', async () => {
    const { stream, subject } = await setup(0);
    const durable = 'narrow';
    await jsm.consumers.add(stream, { durable_name: durable, ack_policy: AckPolicy.Explicit, max_waiting: 1 });
    // another connection's request holds the one waiting place, as a connection's requests do on the server for
    // their whole expiry after it reconnected
    const other = await connect({ servers: nats.url, name: 'pull-consumer-test-other' });
    const inbox = createInbox();
    let otherExpired = false;
    other.subscribe(inbox, { callback: (_e, m) => (otherExpired ||= m.headers?.code === 408) });
    other.publish(
      `$JS.API.CONSUMER.MSG.NEXT.${stream}.${durable}`,
      enc.encode(`{"batch":1,"expires":${nanos(2_000)}}`),
      {
        reply: inbox,
      },
    );
    await waitFor(async () => (await jsm.consumers.info(stream, durable)).num_waiting === 1);
    let drained = 0;
    const got: string[] = [];
    const c: PullConsumer = new PullConsumer(nc, {
      stream,
      durable,
      expiresMs: 5_000,
      onMessage: (m) => {
        got.push(dec.decode(m.data));
        m.ack();
      },
      // asks again whenever told, as the runner does
      onDrained: () => {
        drained++;
        c.pull(1);
      },
    });
    consumers.push(c);
    c.pull(1);
    // a bounded wait: what is checked is how often it was told to ask again meanwhile (at once: once per round trip)
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(drained).toBeLessThanOrEqual(2);
    // once the other request expired, an ask is taken: a message stored then is delivered
    await waitFor(() => otherExpired, { message: 'the other request expired', timeout: 5_000 });
    await waitFor(async () => (await jsm.consumers.info(stream, durable)).num_waiting === 1, { timeout: 5_000 });
    await nc.jetstream().publish(subject, enc.encode('after'));
    await waitFor(() => got.length === 1, { message: 'delivered after the refusals', timeout: 5_000 });
    expect(got).toEqual(['after']);
    await other.close();
  });

  it('stop() ends delivery: later pulls ask nothing', async () => {
    const { stream, durable } = await setup(3);
    const r = pullConsumer({ stream, durable });
    r.consumer.stop();
    r.consumer.pull(3);
    expect(r.consumer.outstanding).toBe(0);
    const info = await jsm.consumers.info(stream, durable);
    expect(info).toMatchObject({ num_waiting: 0, num_pending: 3 });
    expect(r.got).toEqual([]);
  });
});
