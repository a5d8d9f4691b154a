import { z } from 'zod';
import { detailsSchema, ErrorInfoSchema, isoTime } from './common.js';

/** `secrets.refreshed`: one warm/refresh cycle fetched these names from the provider. */
export const SecretsRefreshedSchema = z.looseObject({
  names: z.array(z.string()),
  at: isoTime,
  provider: z.string().optional(),
  durationMs: z.number().nonnegative().optional(),
  /** Names of this cycle that failed (a partial cycle also emits `secrets.refresh-failed`). */
  failed: z.array(z.string()).optional(),
  details: detailsSchema.optional(),
});
export type SecretsRefreshed = z.infer<typeof SecretsRefreshedSchema>;

/** `secrets.refresh-failed`: the provider could not be read for these names. */
export const SecretsRefreshFailedSchema = z.looseObject({
  names: z.array(z.string()).min(1),
  error: ErrorInfoSchema,
  at: isoTime,
  provider: z.string().optional(),
  /** How many names of the cycle were refreshed / attempted (failure-rate alerts). */
  refreshed: z.number().int().nonnegative().optional(),
  total: z.number().int().nonnegative().optional(),
  /** Whether a cached value still covers the names (stale serving possible). */
  cached: z.boolean().optional(),
  details: detailsSchema.optional(),
});
export type SecretsRefreshFailed = z.infer<typeof SecretsRefreshFailedSchema>;

/** `secrets.stale-served`: a cached value older than its TTL was served because the provider failed. */
export const SecretsStaleServedSchema = z.looseObject({
  name: z.string().min(1),
  ageSeconds: z.number().nonnegative(),
  at: isoTime,
  source: z.string().optional(),
  error: ErrorInfoSchema.optional(),
  details: detailsSchema.optional(),
});
export type SecretsStaleServed = z.infer<typeof SecretsStaleServedSchema>;
