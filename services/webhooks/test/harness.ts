import { randomBytes } from 'node:crypto';
import {
  apiClient,
  collectEvents,
  type EventCollector,
  startNats,
  startRedis,
  type TestServer,
} from '@vigil/shared/testing';
import { Redis } from 'ioredis';
import { connect, type NatsConnection } from 'nats';
import { startWebhooksService } from '../src/service.js';

export const TOKEN = 'test-token';
export const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

export interface Harness {
  nats: TestServer;
  redisServer: TestServer;
  redis: Redis;
  nc: NatsConnection;
  events: EventCollector;
  env: Record<string, string>;
  service: Awaited<ReturnType<typeof startWebhooksService>>;
  api(method: string, path: string, body?: unknown, token?: string | null): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

/**
 * The environment of a webhooks service on these servers, as the tests run it: quiet, a free port, the test token and
 * signing key, private receivers allowed (they are on 127.0.0.1), short backoff; `extra` adds or changes variables.
 */
export function webhooksEnv(
  servers: { nats: { url: string }; redis: { url: string } },
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    NATS_URL: servers.nats.url,
    REDIS_URL: servers.redis.url,
    HTTP_PORT: '0',
    LOG_LEVEL: 'error',
    VIGIL_API_TOKEN: TOKEN,
    WEBHOOKS_SIGNING_SECRET: SECRET,
    WEBHOOKS_ALLOW_PRIVATE: 'true',
    WEBHOOKS_BACKOFF_BASE: '100ms',
    ...extra,
  };
}

/** Real NATS, real Redis, the real service in-process on a free port. */
export async function startHarness(
  extraEnv: Record<string, string> = {},
  opts: { random?: () => number; maxAckPending?: number } = {},
): Promise<Harness> {
  const nats = await startNats();
  const redisServer = await startRedis();
  const env = webhooksEnv({ nats, redis: redisServer }, extraEnv);
  const service = await startWebhooksService({
    env,
    handleSignals: false,
    random: opts.random,
    maxAckPending: opts.maxAckPending,
  });
  const nc = await connect({ servers: nats.url });
  const events = collectEvents(nc, 'webhook.>');
  const redis = new Redis(redisServer.url);
  redis.on('error', () => {}); // tests stop Redis on purpose
  const api: Harness['api'] = apiClient(service.url, TOKEN);
  return {
    nats,
    redisServer,
    redis,
    nc,
    events,
    env,
    service,
    api,
    stop: async () => {
      events.stop();
      await service.stop();
      await nc.close();
      redis.disconnect();
      await redisServer.stop();
      await nats.stop();
    },
  };
}
