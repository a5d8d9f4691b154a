import { connect, StringCodec } from 'nats';
import { Redis } from 'ioredis';
import nodemailer from 'nodemailer';
import { afterAll, describe, expect, it } from 'vitest';
import { startNats, startRedis, startSmtpSink, waitFor } from '@vigil/shared/testing';

const sc = StringCodec();

describe('test kit', () => {
  it('JetStream keeps every published message across a nats-server restart', async () => {
    const nats = await startNats({ jetstream: true });
    afterAll(() => nats.stop());
    expect(nats.port).not.toBe(4222);
    const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 50 });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'KIT', subjects: ['kit.>'] });
    const js = nc.jetstream();
    for (let i = 0; i < 20; i++) await js.publish('kit.msg', sc.encode(String(i)));

    await nats.restart();
    await waitFor(async () => (await jsm.streams.info('KIT')).state.messages === 20, 15_000);
    for (let i = 20; i < 30; i++) await js.publish('kit.msg', sc.encode(String(i)));

    await jsm.consumers.add('KIT', { durable_name: 'reader', ack_policy: 'explicit' as never });
    const consumer = await js.consumers.get('KIT', 'reader');
    const seen: string[] = [];
    const batch = await consumer.fetch({ max_messages: 30, expires: 2000 });
    for await (const m of batch) {
      seen.push(sc.decode(m.data));
      m.ack();
    }
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => String(i)));
    await nc.close();
  });

  it('Redis can be killed and restarted on the same port', async () => {
    const redis = await startRedis();
    expect(redis.port).not.toBe(6379);
    const client = new Redis(redis.url, { maxRetriesPerRequest: null, retryStrategy: () => 50 });
    await client.set('k', 'v');
    const pid = redis.pid();
    await redis.kill();
    expect(() => process.kill(pid!, 0)).toThrow();
    await redis.restart();
    await waitFor(async () => (await client.ping()) === 'PONG');
    await client.set('k2', 'v2');
    expect(await client.get('k2')).toBe('v2');
    client.disconnect();
    await redis.stop();
  });

  it('the SMTP sink captures a nodemailer message, parsed', async () => {
    const sink = await startSmtpSink();
    const transport = nodemailer.createTransport(sink.url);
    await transport.sendMail({
      from: 'vigil@localhost',
      to: 'ops@example.com',
      subject: 'hello',
      text: 'plain body',
      html: '<p>html body</p>',
    });
    const [mail] = await sink.waitForMessages(1);
    expect(mail.subject).toBe('hello');
    expect(mail.to).toEqual(['ops@example.com']);
    expect(mail.text).toContain('plain body');
    expect(mail.html).toContain('<p>html body</p>');
    transport.close();
    await sink.stop();
  });

  it('stop() leaves no server process behind', async () => {
    const nats = await startNats();
    const redis = await startRedis();
    const pids = [nats.pid()!, redis.pid()!];
    await nats.stop();
    await redis.stop();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  });
});
