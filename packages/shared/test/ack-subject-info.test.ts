import { describe, expect, it } from 'vitest';
import { AckSubjectInfo } from '../src/events/pull-consumer.js';

describe('AckSubjectInfo (what a JetStream ack subject says about a delivery)', () => {
  it('reads the nats-server 2.9 form', () => {
    const info = new AckSubjectInfo('$JS.ACK.VIGIL_JOBS.runner.3.981234.77.1732434343434343434.12');
    expect(pick(info)).toEqual({
      stream: 'VIGIL_JOBS',
      consumer: 'runner',
      deliveryCount: 3,
      streamSequence: 981234,
      redelivered: true,
    });
  });

  it('reads the newer form with domain, account hash and a trailing token', () => {
    const info = new AckSubjectInfo('$JS.ACK.hub.ACCHASH.VIGIL_JOBS.runner.1.42.42.1732434343434343434.0.x9Yz');
    expect(pick(info)).toEqual({
      stream: 'VIGIL_JOBS',
      consumer: 'runner',
      deliveryCount: 1,
      streamSequence: 42,
      redelivered: false,
    });
  });

  it('keeps sequences beyond 32 bits exact', () => {
    expect(new AckSubjectInfo('$JS.ACK.S.c.1.9007199254740991.5.1.0').streamSequence).toBe(Number.MAX_SAFE_INTEGER);
  });
});

function pick(i: AckSubjectInfo) {
  return {
    stream: i.stream,
    consumer: i.consumer,
    deliveryCount: i.deliveryCount,
    streamSequence: i.streamSequence,
    redelivered: i.redelivered,
  };
}
