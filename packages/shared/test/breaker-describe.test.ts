import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createBreaker,
  createRegistry,
  ErrorCode,
  registerSecretValue,
  TransientError,
  unregisterSecretValue,
} from '@vigil/shared';
import { collectEvents, startNats, type TestServer } from '@vigil/shared/testing';

let nats: TestServer;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

const natsPublisher = () => ({
  publish: (subject: string, data: Record<string, unknown>) => nc.publish(subject, JSON.stringify(data)),
});

/** What a service wraps its dependency's errors in: Vigil's class, one call's message, the dependency's name inside. */
function wrapped(call: string, secretWord = ''): TransientError {
  return new TransientError(`aws provider error InternalServiceError for secret "${call}"${secretWord}`, {
    code: ErrorCode.SECRETS_PROVIDER,
    details: { type: 'InternalServiceError', reason: `An error occurred on the server side.${secretWord}` },
  });
}

/** Opens a breaker (threshold 2) whose calls fail with wrapped(call); resolves with its breaker.opened event data. */
async function openedEvent(service: string, describeFn?: (err: unknown) => { type: string; message: string }) {
  const events = collectEvents(nc, `breaker.opened.${service}.>`);
  let n = 0;
  const breaker = createBreaker('dep', () => Promise.reject(wrapped(`call-${++n}`, ' token=Sekr3t-0a1b')), {
    service,
    bus: natsPublisher(),
    registry: createRegistry(),
    failureThreshold: 2,
    resetTimeoutMs: 60_000,
    describe: describeFn,
  });
  try {
    for (let i = 0; i < 2; i++) await breaker.fire().catch(() => undefined);
    const [opened] = await events.waitFor(`breaker.opened.${service}.dep`);
    return opened.event.error as Record<string, unknown>;
  } finally {
    events.stop();
    breaker.shutdown();
  }
}

describe('createBreaker describe', () => {
  it("names the opening error in breaker.opened by the dependency's error, not Vigil's class or one call", async () => {
    registerSecretValue('Sekr3t-0a1b');
    try {
      const error = await openedEvent('svc-described', (err) => {
        const details = (err as TransientError).details as { type: string; reason: string };
        return { type: details.type, message: details.reason };
      });
      expect(error.type).toBe('InternalServiceError');
      expect(error.message).toMatch(/^An error occurred on the server side\./);
      expect(error.message).not.toContain('call-2');
      // the description leaves the process too: scrubbed like toErrorInfo's own message
      expect(error.message).not.toContain('Sekr3t-0a1b');
      // the rest of the contract's error object stays: class and code, never a stack
      expect(error).toMatchObject({ class: 'transient', code: ErrorCode.SECRETS_PROVIDER });
      expect(error).not.toHaveProperty('stack');
    } finally {
      unregisterSecretValue('Sekr3t-0a1b');
    }
  });

  it('without describe (or when it throws) the thrown error names itself, as before', async () => {
    const plain = await openedEvent('svc-plain');
    expect(plain).toMatchObject({ type: 'TransientError', class: 'transient' });
    expect(plain.message).toContain('for secret "call-2"');
    const broken = await openedEvent('svc-broken', () => {
      throw new Error('description bug');
    });
    expect(broken).toMatchObject({ type: 'TransientError', code: ErrorCode.SECRETS_PROVIDER });
  });
});
