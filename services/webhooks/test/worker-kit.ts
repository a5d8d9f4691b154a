import { createLogger } from '@vigil/shared';
import { type HttpReceiver, startHttpReceiver, waitFor } from '@vigil/shared/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { DeliveryWorker } from '../src/delivery-worker.js';
import type { EventSink } from '../src/worker-io.js';
import { DestinationBreakers } from '../src/destination-breakers.js';
import { HttpSender } from '../src/http-sender.js';
import { SigningKeys } from '../src/signing-keys.js';
import { StatusStore } from '../src/status-store.js';
import { type Harness, SECRET, startHarness } from './harness.js';

/**
 * A webhooks harness for the file, plus what a test needs to play a second replica: HTTP receivers closed after
 * each test, and delivery workers of their own (own Redis connection, HTTP pool, breakers) closed after the file.
 */
export function workerKit() {
  let h: Harness | undefined;
  const closers: Array<() => Promise<unknown> | unknown> = [];
  const receivers: HttpReceiver[] = [];
  beforeAll(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
    await h?.stop();
  });
  const harness = (): Harness => {
    if (!h) throw new Error('harness not started');
    return h;
  };
  const store = (): StatusStore => {
    const redis = new Redis(harness().env.REDIS_URL);
    closers.push(() => redis.disconnect());
    return new StatusStore(redis);
  };
  return {
    harness,
    closers,
    store,
    /** Resolves once the service's consumer has nothing pending or unacknowledged. */
    drained: (timeoutMs: number) =>
      waitFor(async () => {
        const info = await harness().service.runtime.jsm.consumers.info('VIGIL_WEBHOOKS', 'webhooks');
        return info.num_pending === 0 && info.num_ack_pending === 0;
      }, timeoutMs),
    async receiver(plan: Parameters<typeof startHttpReceiver>[0]): Promise<HttpReceiver> {
      const r = await startHttpReceiver(plan);
      receivers.push(r);
      return r;
    },
    /** Another replica's delivery worker, publishing its events through `events` (default: the harness's bus). */
    worker(events?: EventSink): DeliveryWorker {
      const sender = new HttpSender({
        ssrf: { allowPrivate: true, allowlist: new Set() },
        connectTimeoutMs: 5_000,
        totalTimeoutMs: 10_000,
        connectionsPerOrigin: 4,
        userAgent: 'test',
      });
      const breakers = new DestinationBreakers(sender, {
        service: 'webhooks',
        failureThreshold: 5,
        resetTimeoutMs: 30_000,
      });
      closers.push(async () => {
        breakers.shutdown();
        await sender.close();
      });
      return new DeliveryWorker({
        store: store(),
        breakers,
        keys: new SigningKeys(undefined, SECRET),
        events: events ?? { publish: (subject, data) => harness().service.runtime.bus.publish(subject, data) },
        policy: { maxRetries: 3, baseMs: 100, capMs: 1000, maxRetryAfterMs: 3_600_000 },
        now: () => Date.now(),
        log: createLogger({ service: 'test', level: 'error' }),
        localRetryMs: 2_000,
        leaseMs: 15_000,
        settleRetryMs: 2_000,
        maxAgeMs: 3 * 86_400_000,
      });
    },
  };
}
