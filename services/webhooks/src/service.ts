import {
  type Clock,
  createSecretsClient,
  Header,
  type ServiceHandle,
  runService,
  systemClock,
  vigilMetrics,
  WebhookSendSchema,
  packageVersion,
} from '@vigil/shared';
import { Redis } from 'ioredis';
import { DEFAULT_PORT, type WebhooksConfig, webhooksConfigSchema } from './config.js';
import { DeliveryWorker } from './delivery-worker.js';
import { DestinationBreakers } from './destination-breakers.js';
import { DestinationSlots, perDestinationCap } from './destination-slots.js';
import { HttpSender } from './http-sender.js';
import { registerRoutes } from './http-routes.js';
import { SigningKeys } from './signing-keys.js';
import { ParkingLot } from './parking-lot.js';
import { parseAllowlist, type SsrfPolicy } from './ssrf-guard.js';
import { StatusStore } from './status-store.js';

export const SERVICE = 'webhooks';
export const DURABLE = 'webhooks';

export interface StartWebhooksOptions {
  env?: Record<string, string | undefined>;
  clock?: Clock;
  handleSignals?: boolean;
  /** Jitter source (tests pass a fixed one to see the backoff ceiling). */
  random?: () => number;
  /** The consumer's ack-pending window (default 50,000; tests make it small to show that parking keeps it free). */
  maxAckPending?: number;
}

/** How often parked webhooks are looked at, and how many a destination whose breaker closed gets back per look. */
const PARKING_INTERVAL_MS = 1_000;
const RELEASE_BATCH = 500;

/** Starts the webhooks service: the `webhook.send` queue consumer, the HTTP API, Redis status. */
export async function startWebhooksService(opts: StartWebhooksOptions = {}): Promise<ServiceHandle<WebhooksConfig>> {
  const clock = opts.clock ?? systemClock;
  return runService({
    name: SERVICE,
    version: packageVersion(import.meta.url),
    configSchema: webhooksConfigSchema,
    env: opts.env,
    defaultPort: DEFAULT_PORT,
    handleSignals: opts.handleSignals,
    clock,
    start: async (rt) => {
      const c = rt.config;
      const metrics = vigilMetrics(rt.registry);
      const ssrf: SsrfPolicy = {
        allowPrivate: c.WEBHOOKS_ALLOW_PRIVATE,
        allowlist: parseAllowlist(c.WEBHOOKS_ALLOWLIST),
      };
      if (ssrf.allowPrivate) rt.log.warn('WEBHOOKS_ALLOW_PRIVATE=true: webhooks may reach internal addresses');

      const redis = new Redis(c.REDIS_URL, { maxRetriesPerRequest: 2, enableAutoPipelining: true, lazyConnect: true });
      redis.on('error', (err) => rt.log.warn({ err: err.message }, 'redis error'));
      await redis.connect();
      rt.onShutdown(async () => {
        await redis.quit().catch(() => redis.disconnect());
      });
      const store = new StatusStore(redis);
      rt.addCheck('redis', () => store.ping());
      rt.phase('redis connected');

      const keys = new SigningKeys(createSecretsClient(rt.nc, { logger: rt.log }), c.WEBHOOKS_SIGNING_SECRET);
      if (!keys.hasDefault) rt.log.warn('WEBHOOKS_SIGNING_SECRET unset: requests must name a secretName');

      const sender = new HttpSender({
        ssrf,
        connectTimeoutMs: c.WEBHOOKS_CONNECT_TIMEOUT,
        totalTimeoutMs: c.WEBHOOKS_TIMEOUT,
        connectionsPerOrigin: c.WEBHOOKS_CONNECTIONS_PER_ORIGIN,
        userAgent: 'Vigil-Webhooks/0.1',
      });
      const breakers = new DestinationBreakers(sender, {
        service: SERVICE,
        failureThreshold: c.WEBHOOKS_BREAKER_THRESHOLD,
        resetTimeoutMs: c.WEBHOOKS_BREAKER_RESET,
        bus: rt.bus,
        registry: rt.registry,
        logger: rt.log,
      });
      rt.onShutdown(async () => {
        breakers.shutdown();
        await sender.close();
      });

      const ackWaitMs = Math.max(c.WEBHOOKS_ACK_WAIT, c.WEBHOOKS_TIMEOUT + 1_000);
      // A settle may retry its status write while the message's ack-wait still has room after the POST.
      const settleRetryMs = Math.min(10_000, Math.max(0, ackWaitMs - c.WEBHOOKS_TIMEOUT - 2_000));
      const parking = new ParkingLot({
        js: rt.js,
        jsm: rt.jsm,
        destination: (origin) => breakers.for(origin),
        now: () => clock.now(),
        maxAgeMs: c.WEBHOOKS_MAX_AGE,
        log: rt.log,
        metrics,
        releaseBatch: RELEASE_BATCH,
        probeRetryMs: c.WEBHOOKS_BREAKER_RESET,
      });
      const worker = new DeliveryWorker({
        store,
        breakers,
        keys,
        events: { publish: (subject, data, opts) => rt.bus.publish(subject, data, opts) },
        policy: {
          maxRetries: c.WEBHOOKS_MAX_RETRIES,
          baseMs: c.WEBHOOKS_BACKOFF_BASE,
          capMs: c.WEBHOOKS_BACKOFF_CAP,
          maxRetryAfterMs: 3_600_000,
          random: opts.random,
        },
        now: () => clock.now(),
        metrics,
        log: rt.log,
        localRetryMs: 2_000,
        settleRetryMs,
        maxAgeMs: c.WEBHOOKS_MAX_AGE,
        parking,
        slots: new DestinationSlots(perDestinationCap(c.WEBHOOKS_CONCURRENCY, c.WEBHOOKS_CONNECTIONS_PER_ORIGIN)),
        // Covers the POST and the settle, and ends no later than the ack-wait, so a crashed holder's redelivery
        // finds it expired (ackWaitMs ≥ timeout + 1 s: the POST itself is always covered).
        leaseMs: Math.min(c.WEBHOOKS_TIMEOUT + settleRetryMs + 2_000, ackWaitMs),
      });

      registerRoutes(rt.http, {
        store,
        ssrf,
        apiToken: c.VIGIL_API_TOKEN,
        publishSend: (data, msgId) => rt.bus.publish('webhook.send', WebhookSendSchema.parse(data), { msgId }),
        js: rt.js,
        jsm: rt.jsm,
        now: () => clock.now(),
        hasDefaultKey: keys.hasDefault,
        log: rt.log,
      });

      await rt.bus.consume({
        subject: 'webhook.send',
        durable: DURABLE,
        concurrency: c.WEBHOOKS_CONCURRENCY,
        // Every failure the worker throws carries its own delay (retryAfterMs): no floor from here.
        backoffMs: [0],
        // Attempts are counted in Redis; deliveries also count breaker waits, which must not dead-letter.
        maxDeliver: 100_000,
        // Sends to a destination that is down wait parked, outside this window (ParkingLot).
        maxAckPending: opts.maxAckPending ?? 50_000,
        ackWaitMs,
        // A command the shared schema refuses never reaches the worker: it still gets its webhook.dead.
        onInvalid: (event, err) => worker.refuseInvalid({ id: event.id, time: event.time, data: event.data }, err),
        handler: (event, ctx) => {
          const storedAt = firstStoredAt(ctx.headers[Header.STORED_AT], ctx.storedAt);
          return worker.handle({
            id: event.id,
            time: event.time,
            data: event.data,
            storedAt,
            raw: { seq: ctx.seq, body: ctx.body, headers: ctx.headers, storedAt },
            // The seq lets BEGIN reset a dead webhook once per replayed message, not on each redelivery of it.
            replaySeq:
              (ctx.headers[Header.REPLAY_OF] ?? ctx.headers[Header.REPLAY_OF.toLowerCase()]) ? ctx.seq : undefined,
          });
        },
      });
      const releasing = parking.start(PARKING_INTERVAL_MS);
      rt.onShutdown(() => releasing.stop());
      rt.phase('consuming webhook.send');
    },
  });
}

/**
 * A released parked webhook says when its send was first stored (Vigil-Stored-At): WEBHOOKS_MAX_AGE counts from
 * there, not from the release. A value later than the stream's own time (or no number) is ignored.
 */
function firstStoredAt(header: string | undefined, stored: number): number {
  const at = Number(header);
  return Number.isFinite(at) && at > 0 && at <= stored ? at : stored;
}
