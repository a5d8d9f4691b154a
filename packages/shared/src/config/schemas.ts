import { accessSync, constants, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
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

/** URL schemes a NATS server may be written with (nats.js; `tls://` asks for TLS, `ws(s)://` for WebSocket). */
const NATS_SCHEMES = ['nats:', 'tls:', 'ws:', 'wss:'];
/** `host`, `host:port`, `[ipv6]` or `[ipv6]:port`: the scheme-less forms nats.js reads. */
const BARE_NATS_SERVER = /^(?:[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?$/;
/** A bare IPv6 address (nats.js brackets it itself). */
const BARE_IPV6 = /^(?=(?:[^:]*:){2})[0-9A-Fa-f:.]+$/;

/** An entry as it may be shown in a message: any `user:password@` blanked out. */
function redactUserInfo(entry: string): string {
  return entry.replace(/^([^/]*\/\/)?[^/@]*@/, (_m, scheme: string | undefined) => `${scheme ?? ''}***@`);
}

/** Why one entry of NATS_URL is not a server nats.js can connect to, or undefined when it is. */
function natsServerProblem(entry: string): string | undefined {
  const shown = `"${redactUserInfo(entry)}"`;
  const hint = 'use nats://host:port, tls://host:port, ws(s)://host:port or host:port';
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(entry)?.[1];
  if (scheme === undefined) {
    if (BARE_IPV6.test(entry)) return undefined;
    const bare = BARE_NATS_SERVER.exec(entry);
    if (!bare) return `${shown} is not a NATS server address (${hint})`;
    if (bare[1] !== undefined && Number(bare[1]) > 65535) return `${shown} has a port over 65535`;
    return undefined;
  }
  if (!NATS_SCHEMES.includes(`${scheme.toLowerCase()}:`)) {
    return `${shown} has the scheme ${scheme}://, which is not NATS (${hint})`;
  }
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return `${shown} is not a valid URL (${hint})`;
  }
  if (!url.hostname) return `${shown} names no host (${hint})`;
  if ((url.pathname && url.pathname !== '/') || url.search || url.hash) {
    return `${shown} has a path or query; a NATS server is only scheme://host:port`;
  }
  return undefined;
}

/**
 * NATS_URL: a comma-separated list of servers, each `nats://`, `tls://`, `ws://` or `wss://` URL or a bare
 * `host:port` / `host`, as nats.js accepts them. Anything else is a configuration error at start (exit 78)
 * naming the bad entry, not a TypeError from the client or a connect loop until the start-up timeout.
 */
export const natsUrlSchema = z
  .string()
  .min(1)
  .superRefine((value, ctx) => {
    const entries = value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (entries.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'lists no server (use e.g. nats://127.0.0.1:4222)' });
      return;
    }
    const problems = entries.map(natsServerProblem).filter((p): p is string => p !== undefined);
    if (problems.length > 0) ctx.addIssue({ code: 'custom', message: `has a bad server: ${problems.join('; ')}` });
  });

/** NATS_CREDS: the path of a readable .creds file (JWT + nkey), checked at start rather than at connect. */
export const natsCredsSchema = z.string().superRefine((file, ctx) => {
  let why: string | undefined;
  try {
    if (!statSync(file).isFile()) why = 'is not a file';
    else accessSync(file, constants.R_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    why =
      code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable' : `cannot be read (${code ?? err})`;
  }
  if (why) {
    ctx.addIssue({
      code: 'custom',
      message: `must name a readable .creds file: "${file}" ${why}${isAbsolute(file) ? '' : ` (relative to ${process.cwd()})`}`,
    });
  }
});

/**
 * REDIS_URL: `redis://` or `rediss://` (TLS) with a host, e.g. `redis://:password@redis:6379/0`. The value is
 * never echoed (it may hold a password).
 */
export const redisUrlSchema = z.string().superRefine((value, ctx) => {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    // not a URL at all
  }
  let why: string | undefined;
  if (!url || (url.protocol !== 'redis:' && url.protocol !== 'rediss:')) why = 'must be a redis:// or rediss:// URL';
  else if (!url.hostname) why = 'names no host';
  else if (!/^(\/\d*)?$/.test(url.pathname)) why = 'has a path that is not a database number';
  if (why) ctx.addIssue({ code: 'custom', message: `${why} (e.g. redis://[:password@]host[:port][/db])` });
});

/**
 * ALERT_CLI: how commands in alert texts call the CLI (`vigil` where it is installed, the image; `npx vigil` in a
 * checkout): a plain command, no `VAR=value`, so what an email shows can be pasted as it is.
 */
export const alertCliSchema = z
  .string()
  .regex(/^[A-Za-z0-9_./@ -]{1,64}$/, 'must be a plain command, e.g. "vigil" or "npx vigil"')
  .default('vigil');

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The variables every service reads (contract §3). Services extend it with their own. */
export const baseEnvSchema = z.object({
  NATS_URL: natsUrlSchema.default('nats://127.0.0.1:4222'),
  NATS_CREDS: natsCredsSchema.optional(),
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
