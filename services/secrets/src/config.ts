import { baseEnvSchema, durationSchema, httpPortSchema, parseDuration, redisUrlSchema } from '@vigil/shared';
import { z } from 'zod';

const DEFAULT_TTL_MS = 3_600_000;

/** `db-password=5m, api-key=30s` -> per-secret TTLs (SECRETS_TTL_OVERRIDES). */
const ttlOverridesSchema = z
  .string()
  .optional()
  .transform((text, ctx) => {
    const out: Record<string, number> = {};
    if (!text) return out;
    for (const part of text
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const eq = part.lastIndexOf('=');
      const name = part.slice(0, eq).trim();
      try {
        if (eq <= 0 || !name) throw new Error('expected name=duration');
        out[name] = parseDuration(part.slice(eq + 1));
      } catch (err) {
        ctx.addIssue({
          code: 'custom',
          message: `"${part}": ${(err as Error).message} (use name=duration, comma-separated)`,
        });
      }
    }
    return out;
  });

const cacheKeySchema = z
  .string()
  .optional()
  .refine((v) => v === undefined || Buffer.from(v, 'base64').length === 32, {
    message: 'must be 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`)',
  });

/** The secrets service's environment (contract §3 plus the service's own tuning knobs). */
export const secretsConfigSchema = baseEnvSchema.extend({
  HTTP_PORT: httpPortSchema(8083),
  REDIS_URL: redisUrlSchema.default('redis://127.0.0.1:6379'),
  SECRETS_PROVIDER: z.enum(['aws', 'file', 'env']).optional(),
  SECRETS_FILE: z.string().min(1).default('./secrets.json'),
  SECRET_NAMES: z.string().optional(),
  VIGIL_JOBS_FILE: z.string().min(1).default('./jobs.yaml'),
  AWS_REGION: z.string().optional(),
  AWS_ENDPOINT_URL_SECRETS_MANAGER: z.url().optional(),
  // Only when given explicitly; otherwise the SDK's default credentials chain decides.
  AWS_ACCESS_KEY_ID: z.string().optional(),
  AWS_SECRET_ACCESS_KEY: z.string().optional(),
  AWS_SESSION_TOKEN: z.string().optional(),
  SECRETS_CACHE_KEY: cacheKeySchema,
  SECRETS_TTL: durationSchema.default(DEFAULT_TTL_MS),
  SECRETS_TTL_OVERRIDES: ttlOverridesSchema,
  /** Refresh in the background when this little is left of a TTL. Default: 10% of the TTL. */
  SECRETS_REFRESH_AHEAD: durationSchema.optional(),
  SECRETS_MAX_STALE: durationSchema.default(7 * 86_400_000),
  SECRETS_WARM_INTERVAL: durationSchema.default(30 * 60_000),
  /** After a failed provider call, answer from the stale value for this long before asking again. */
  SECRETS_ERROR_BACKOFF: durationSchema.default(5_000),
  SECRETS_PROVIDER_TIMEOUT: durationSchema.default(5_000),
  /** With an expired cached value, answer it (stale) when the provider is slower than this. */
  SECRETS_STALE_AFTER: durationSchema.default(1_000),
  SECRETS_BREAKER_THRESHOLD: z.coerce.number().int().positive().default(5),
  SECRETS_BREAKER_RESET: durationSchema.default(30_000),
});

export type SecretsConfig = z.infer<typeof secretsConfigSchema>;

/** `aws` when AWS_REGION is set, else `file` (contract §3). */
export function providerKind(config: SecretsConfig): 'aws' | 'file' | 'env' {
  return config.SECRETS_PROVIDER ?? (config.AWS_REGION ? 'aws' : 'file');
}

export function ttlFor(config: SecretsConfig): (name: string) => number {
  return (name) => config.SECRETS_TTL_OVERRIDES[name] ?? config.SECRETS_TTL;
}

/** The `VIGIL_SECRET_*` variables for the env provider: the only place the service reads the raw environment. */
export function envSecretVariables(env: Record<string, string | undefined> = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (k.startsWith('VIGIL_SECRET_') && v !== undefined) out[k] = v;
  return out;
}

/** The environment used when a caller passes none. */
export function processEnv(): Record<string, string | undefined> {
  return process.env;
}
