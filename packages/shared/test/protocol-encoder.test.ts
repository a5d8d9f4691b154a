import { createRequire } from 'node:module';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headers } from 'nats';
import { bufferUtf8Encoder, connectNats, jetStreamPublisher, useFastProtocolEncoder } from '@vigil/shared';
import { startNats, type TestServer } from '@vigil/shared/testing';

const standard = new TextEncoder();
const SAMPLES = [
  '',
  'PUB $JS.ACK.VIGIL_JOBS.runner.1.42.42.1732434343434343434.0 4\r\n',
  'HPUB job.succeeded.daily-ünïcødé _INBOX.X.7 40 512\r\n',
  'Grüße, 日本語, emoji 🚀',
  // Lone surrogates: both encoders write U+FFFD.
  'broken \uD800 high and \uDC00 low',
  'x'.repeat(10_000),
];

let server: TestServer;
beforeAll(async () => {
  server = await startNats();
});
afterAll(async () => {
  await server.stop();
});

describe('the Buffer-based protocol encoder nats.js is given', () => {
  it('writes exactly the bytes TextEncoder writes', () => {
    for (const s of SAMPLES) expect(Buffer.from(bufferUtf8Encoder.encode(s))).toEqual(Buffer.from(standard.encode(s)));
    expect(bufferUtf8Encoder.encode(undefined)).toHaveLength(0);
    const into = new Uint8Array(8);
    expect(bufferUtf8Encoder.encodeInto('añb', into)).toEqual(standard.encodeInto('añb', new Uint8Array(8)));
  });

  it('is in place once a service connects, and every message still arrives intact', async () => {
    const nc = await connectNats({ servers: server.url, name: 'encoder-test', logger: pino({ level: 'silent' }) });
    expect(useFastProtocolEncoder()).toBe(true);
    const encoders = createRequire(import.meta.url)('nats/lib/nats-base-client/encoders.js') as { TE: unknown };
    expect(encoders.TE).toBe(bufferUtf8Encoder);

    // Core publish with a non-ASCII subject, header and string payload (all three go through the encoder).
    const subject = 'probe.grüße.日本';
    const sub = nc.subscribe(subject, { max: 1 });
    const h = headers();
    h.set('x-note', 'naïve 🚀');
    nc.publish(subject, 'payload ✓', { headers: h });
    for await (const m of sub) {
      expect(m.subject).toBe(subject);
      expect(m.headers?.get('x-note')).toBe('naïve 🚀');
      expect(m.string()).toBe('payload ✓');
    }

    // A JetStream publish and its PubAck round trip.
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'ENCODER', subjects: ['enc.>'] });
    const ack = await jetStreamPublisher(nc).publish('enc.ünï', Buffer.from('é'), { msgID: 'id-ü-1' });
    expect(ack.seq).toBe(1);
    const stored = await jsm.streams.getMessage('ENCODER', { seq: 1 });
    expect(stored.subject).toBe('enc.ünï');
    expect(stored.header.get('Nats-Msg-Id')).toBe('id-ü-1');
    expect(new TextDecoder().decode(stored.data)).toBe('é');
    await nc.close();
  });
});
