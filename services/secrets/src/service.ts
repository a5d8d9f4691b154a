import { packageVersion, type Clock, runService, type ServiceHandle } from '@vigil/shared';
import { Redis } from 'ioredis';
import {
  envSecretVariables,
  processEnv,
  providerKind,
  type SecretsConfig,
  secretsConfigSchema,
  ttlFor,
} from './config.js';
import { parseCacheKey } from './lkg-crypto.js';
import { LastKnownGoodStore } from './lkg-store.js';
import { addSecretsEndpoints } from './nats-endpoints.js';
import { KvOutageLedger, OUTAGES_BUCKET } from './outage-ledger.js';
import { outageReporter } from './outage-reporter.js';
import { createProviderBreaker } from './provider-breaker.js';
import { createProvider, providerCallBoundMs } from './provider-factory.js';
import { SecretCache } from './secret-cache.js';
import { secretsMetrics } from './secrets-metrics.js';
import { warmNamesSource } from './warm-names.js';
import { createWarmer } from './warmer.js';

export interface StartSecretsServiceOptions {
  env?: Record<string, string | undefined>;
  clock?: Clock;
  handleSignals?: boolean;
  /** Tests capture log lines here. */
  logDestination?: Parameters<typeof runService>[0]['logDestination'];
}

const DAY_MS = 86_400_000;

export const SECRETS_SERVICE_VERSION = packageVersion(import.meta.url);

/** The secrets service: providers behind a breaker, stale cache, encrypted last-known-good, warming, NATS API. */
export function startSecretsService(opts: StartSecretsServiceOptions = {}): Promise<ServiceHandle<SecretsConfig>> {
  const env = opts.env ?? processEnv();
  return runService({
    name: 'secrets',
    version: SECRETS_SERVICE_VERSION,
    configSchema: secretsConfigSchema,
    env,
    defaultPort: 8083,
    handleSignals: opts.handleSignals,
    clock: opts.clock,
    logDestination: opts.logDestination,
    start: async (rt) => {
      const config = rt.config as SecretsConfig;
      const kind = providerKind(config);
      const provider = createProvider(config, envSecretVariables(env));
      const metrics = secretsMetrics(rt.registry);
      // A hung provider call fails at its bound (counted by the breaker), so a hang is an outage like any other.
      const { breaker, fetch } = createProviderBreaker({
        provider,
        callBoundMs: providerCallBoundMs(config),
        service: 'secrets',
        bus: rt.bus,
        registry: rt.registry,
        logger: rt.log,
        failureThreshold: config.SECRETS_BREAKER_THRESHOLD,
        resetTimeoutMs: config.SECRETS_BREAKER_RESET,
      });

      let lkg: LastKnownGoodStore | undefined;
      let redis: Redis | undefined;
      if (config.SECRETS_CACHE_KEY) {
        redis = new Redis(config.REDIS_URL, {
          // Redis is a fallback store: a command must fail fast, never queue while Redis is down.
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          commandTimeout: 1_000,
          connectTimeout: 2_000,
          retryStrategy: (times) => Math.min(times * 200, 5_000),
        });
        redis.on('error', () => undefined); // reported by the store, once per outage
        lkg = new LastKnownGoodStore(redis, parseCacheKey(config.SECRETS_CACHE_KEY), {
          maxStaleMs: config.SECRETS_MAX_STALE,
          logger: rt.log,
        });
        rt.phase('last-known-good copies sealed in redis (AES-256-GCM)');
      } else {
        rt.log.warn(
          'SECRETS_CACHE_KEY unset — last-known-good values are not persisted: a restart during a provider outage has nothing to serve, and jobs that need secrets fail',
        );
      }

      // Outages outlive a restart and are shared by replicas: one start, one stale-served announcement per secret.
      let outages: KvOutageLedger | undefined;
      try {
        const kv = await rt.bus.openKv(OUTAGES_BUCKET, {
          ttlMs: Math.max(config.SECRETS_MAX_STALE, DAY_MS),
          history: 1,
        });
        outages = new KvOutageLedger(kv);
      } catch (err) {
        rt.log.warn(
          { err, bucket: OUTAGES_BUCKET },
          'outage records unavailable (NATS KV) — a restart or a second replica announces an outage again',
        );
      }

      const cache = new SecretCache({
        fetch,
        providerName: kind,
        now: () => rt.clock.now(),
        ttlMs: ttlFor(config),
        refreshAheadMs: (ttl) => config.SECRETS_REFRESH_AHEAD ?? ttl * 0.1,
        maxStaleMs: config.SECRETS_MAX_STALE,
        errorBackoffMs: config.SECRETS_ERROR_BACKOFF,
        staleAfterMs: config.SECRETS_STALE_AFTER,
        lastKnownGood: lkg,
        outages,
        hooks: outageReporter({
          log: rt.log,
          bus: rt.bus,
          metrics,
          provider: kind,
          now: () => rt.clock.now(),
          onStored: lkg ? (name, secret) => void lkg?.save(name, secret) : undefined,
        }),
      });

      addSecretsEndpoints(rt.natsService, cache, rt.log);
      // The server must know the subscriptions before "ready": a request right after start would find no responders.
      await rt.nc.flush();
      rt.phase(`secrets.get and secrets.status on vigil-secrets (provider ${kind})`);

      const warmer = createWarmer({
        cache,
        names: warmNamesSource({ secretNames: config.SECRET_NAMES, jobsFile: config.VIGIL_JOBS_FILE, log: rt.log }),
        intervalMs: config.SECRETS_WARM_INTERVAL,
        clock: rt.clock,
        bus: rt.bus,
        log: rt.log,
        provider: kind,
        ledger: outages,
      });

      // Cache ages move with time, not only with events: refresh the gauge every 15 s.
      const ageTimer = setInterval(() => {
        for (const { name, ageSeconds } of cache.ages()) metrics.cacheAge.set({ name }, ageSeconds);
      }, 15_000);
      ageTimer.unref();

      rt.onShutdown(async () => {
        warmer.stop();
        clearInterval(ageTimer);
        breaker.shutdown();
        provider.close?.();
        if (redis) await redis.quit().catch(() => redis?.disconnect());
      });

      // First warm in the background: start-up must not wait on a provider that may be down.
      void warmer
        .runOnce()
        .catch((err: unknown) => rt.log.error({ err }, 'first secrets warming failed'))
        .finally(() => {
          if (!rt.signal.aborted) warmer.start();
        });
    },
  });
}
