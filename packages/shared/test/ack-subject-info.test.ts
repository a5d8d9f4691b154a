import { describe, expect, it } from 'vitest';
import { AckSubjectInfo } from '../src/events/pull-consumer.js';

describe('AckSubjectInfo (what a JetStream ack subject says about a delivery)', () => {
  it.each([
    ['nats-server 2.9', '$JS.ACK.VIGIL_JOBS.runner.3.981234.77.1732434343434343434.12', 3, 981234],
    [
      'newer servers (domain, account hash, trailing token)',
      '$JS.ACK.hub.ACC.VIGIL_JOBS.runner.1.42.42.17.0.x9Yz',
      1,
      42,
    ],
  ])('reads the %s form', (_form, subject, deliveryCount, streamSequence) => {
    const info = new AckSubjectInfo(subject);
    expect({
      stream: info.stream,
      consumer: info.consumer,
      deliveryCount: info.deliveryCount,
      streamSequence: info.streamSequence,
      redelivered: info.redelivered,
    }).toEqual({
      stream: 'VIGIL_JOBS',
      consumer: 'runner',
      deliveryCount,
      streamSequence,
      redelivered: deliveryCount > 1,
    });
  });

  it('keeps sequences beyond 32 bits exact', () => {
    expect(new AckSubjectInfo('$JS.ACK.S.c.1.9007199254740991.5.1.0').streamSequence).toBe(Number.MAX_SAFE_INTEGER);
  });
});
