import { baseEnvSchema, booleanSchema, durationSchema, httpPortSchema, redisUrlSchema } from '@vigil/shared';
import { z } from 'zod';

export const DEFAULT_PORT = 8084;

const whsec = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/]{22,}={0,2}$/, 'must be whsec_ followed by base64 of at least 16 bytes')
  .optional();

/** The environment of the webhooks service (contract §3, plus tuning knobs with safe defaults). */
export const webhooksConfigSchema = baseEnvSchema.extend({
  HTTP_PORT: httpPortSchema(DEFAULT_PORT),
  REDIS_URL: redisUrlSchema.default('redis://127.0.0.1:6379'),
  VIGIL_API_TOKEN: z.string().min(1).optional(),
  WEBHOOKS_SIGNING_SECRET: whsec,
  WEBHOOKS_ALLOW_PRIVATE: booleanSchema(false),
  WEBHOOKS_ALLOWLIST: z.string().optional(),
  /** Retries after the first attempt (seed 004: 3). */
  WEBHOOKS_MAX_RETRIES: z.coerce.number().int().min(0).max(20).default(3),
  WEBHOOKS_BACKOFF_BASE: durationSchema.default(5_000),
  WEBHOOKS_BACKOFF_CAP: durationSchema.default(300_000),
  WEBHOOKS_BREAKER_THRESHOLD: z.coerce.number().int().min(1).default(5),
  WEBHOOKS_BREAKER_RESET: durationSchema.default(30_000),
  /** Deliveries in flight at once (across all destinations). */
  WEBHOOKS_CONCURRENCY: z.coerce.number().int().min(1).max(1024).default(64),
  WEBHOOKS_CONNECTIONS_PER_ORIGIN: z.coerce.number().int().min(1).max(1024).default(32),
  WEBHOOKS_CONNECT_TIMEOUT: durationSchema.default(5_000),
  WEBHOOKS_TIMEOUT: durationSchema.default(10_000),
  /**
   * A webhook not delivered this long after it was queued (or replayed) is dead (webhook.dead, DLQ, replayable):
   * waits for an open breaker burn no attempts, and the stream would drop it unannounced after 7 days.
   */
  WEBHOOKS_MAX_AGE: durationSchema.default(3 * 86_400_000).refine((ms) => ms >= 1_000 && ms <= 6 * 86_400_000, {
    message: 'must be between 1s and 6d (VIGIL_WEBHOOKS keeps messages 7 days)',
  }),
  /** How long a crashed replica's unacknowledged deliveries wait before another replica takes them. */
  WEBHOOKS_ACK_WAIT: durationSchema.default(30_000),
});

export type WebhooksConfig = z.infer<typeof webhooksConfigSchema>;
