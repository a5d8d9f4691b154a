import { z } from 'zod';

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

/** 'true' | 'false' | '1' | '0' | 'yes' | 'no' | 'on' | 'off' (any case) -> boolean. */
export function booleanSchema(defaultValue = false) {
  return z
    .union([z.boolean(), z.string()])
    .optional()
    .transform((value, ctx) => {
      if (value === undefined) return defaultValue;
      if (typeof value === 'boolean') return value;
      const v = value.trim().toLowerCase();
      if (TRUE.has(v)) return true;
      if (FALSE.has(v)) return false;
      ctx.addIssue({ code: 'custom', message: `"${value}" is not a boolean (use true or false)` });
      return z.NEVER;
    });
}

/** 'a, b,,c' -> ['a', 'b', 'c']; unset -> []. */
export function envListSchema(separator: string | RegExp = ',') {
  return z
    .string()
    .optional()
    .transform((value) =>
      value === undefined
        ? []
        : value
            .split(separator)
            .map((s) => s.trim())
            .filter(Boolean),
    );
}

/** A TCP port; 0 means "any free port" (tests start services with HTTP_PORT=0). */
export function httpPortSchema(defaultPort: number) {
  return z.coerce
    .number({ message: 'must be a port number' })
    .int('must be a whole number')
    .min(0, 'must be 0-65535')
    .max(65535, 'must be 0-65535')
    .default(defaultPort);
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The variables every service reads (contract §3). Services extend it with their own. */
export const baseEnvSchema = z.object({
  NATS_URL: z.string().min(1).default('nats://127.0.0.1:4222'),
  NATS_CREDS: z.string().optional(),
  NATS_USER: z.string().optional(),
  NATS_PASSWORD: z.string().optional(),
  HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  OTEL_SERVICE_NAME: z.string().optional(),
  /** Copies of each stream, KV bucket and object store Vigil creates: 3 on a 3-node NATS cluster. */
  NATS_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
});

export type BaseEnv = z.infer<typeof baseEnvSchema>;
