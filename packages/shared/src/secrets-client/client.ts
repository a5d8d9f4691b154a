import type { Msg, NatsConnection } from 'nats';
import { ErrorCode, errorMessage, PermanentError, TransientError } from '../errors/index.js';
import { registerSecretValue } from '../log/index.js';
import { jsonLeaves, SECRET_TEMPLATE, selectField, splitRef, templateRefs } from './template.js';
import {
  MAX_STALE_REFUSAL,
  type SecretGetOptions,
  type SecretsClient,
  type SecretsClientOptions,
  type SecretValue,
} from './types.js';

interface Held {
  secret: SecretValue;
  at: number;
  /** After a failed ask, the held value is served without asking again until then (no 2 s wait per call). */
  quietUntil?: number;
}

/** How long a failed ask keeps this process from asking again for the same secret. */
const QUIET_AFTER_FAILURE_MS = 5_000;

/** `5432`, `true`, `null`: what selectField makes of a non-string JSON leaf. */
function isJsonScalar(text: string): boolean {
  try {
    const v: unknown = JSON.parse(text);
    return v === null || typeof v === 'number' || typeof v === 'boolean';
  } catch {
    return false;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Request/reply client of the `vigil-secrets` service with a short in-process cache. When the service cannot
 * be reached (or has nothing) it falls back to the last value it saw, marked stale, so a job keeps running.
 */
export function createSecretsClient(nc: NatsConnection, opts: SecretsClientOptions): SecretsClient {
  const ttl = opts.cacheTtlMs ?? 30_000;
  const timeout = opts.timeoutMs ?? 2_000;
  const subject = opts.subject ?? 'secrets.get';
  const now = opts.now ?? Date.now;
  const log = opts.logger;
  const held = new Map<string, Held>();
  const inflight = new Map<string, Promise<SecretValue>>();

  const aged = (h: Held, stale: boolean): SecretValue => ({
    ...h.secret,
    stale: h.secret.stale || stale,
    ageSeconds: h.secret.ageSeconds + Math.max(0, Math.round((now() - h.at) / 1000)),
  });

  const fallback = (name: string, reason: string, err?: unknown): SecretValue => {
    const h = held.get(name);
    if (!h) {
      throw new TransientError(`secret "${name}" is unavailable: ${reason}, and this process has no earlier value`, {
        code: ErrorCode.SECRET_UNAVAILABLE,
        details: { name },
        cause: err,
      });
    }
    h.quietUntil = now() + QUIET_AFTER_FAILURE_MS;
    const v = aged(h, true);
    log.warn(
      { secretName: name, ageSeconds: v.ageSeconds, reason },
      `${reason} — using this process's last value, age ${v.ageSeconds}s`,
    );
    return v;
  };

  const fetch = async (name: string): Promise<SecretValue> => {
    let msg: Msg;
    try {
      msg = await nc.request(subject, encoder.encode(JSON.stringify({ name })), { timeout });
    } catch (err) {
      const what = errorMessage(err);
      return fallback(name, `secrets service unreachable (${what})`, err);
    }
    const code = msg.headers?.get('Nats-Service-Error-Code');
    if (code) {
      const description = msg.headers?.get('Nats-Service-Error') || `error ${code}`;
      if (code === '404') {
        held.delete(name);
        throw new PermanentError(description, { code: ErrorCode.SECRET_NOT_FOUND, details: { name } });
      }
      if (description.includes(MAX_STALE_REFUSAL)) {
        held.delete(name);
        throw new TransientError(description, { code: ErrorCode.SECRET_UNAVAILABLE, details: { name } });
      }
      return fallback(name, `secrets service answered ${code}: ${description}`);
    }
    const secret = JSON.parse(decoder.decode(msg.data)) as SecretValue;
    held.set(name, { secret, at: now() });
    return { ...secret };
  };

  const read = async (name: string): Promise<SecretValue> => {
    const h = held.get(name);
    if (h && now() - h.at < ttl) return aged(h, false);
    if (h?.quietUntil !== undefined && now() < h.quietUntil) return aged(h, true);
    let p = inflight.get(name);
    if (!p) {
      p = fetch(name).finally(() => inflight.delete(name));
      inflight.set(name, p);
    }
    return p;
  };

  // Registered by the caller's read, not by the fetch: one value may be read as a list of names by one caller
  // (a job's targets, { redact: false }) and as a credential by another, and the cache serves both. Registering
  // is idempotent, so a cached value read again costs a lookup.
  const get = async (name: string, o: SecretGetOptions = {}): Promise<SecretValue> => {
    const secret = await read(name);
    if (o.redact !== false) {
      registerSecretValue(secret.value);
      for (const leaf of jsonLeaves(secret.value)) registerSecretValue(leaf);
    }
    return secret;
  };

  /** `a.b` is first read as secret `a`, field `b`; when no secret `a` exists, as a secret named `a.b`. */
  const resolveRef = async (ref: string): Promise<string> => {
    const { name, path } = splitRef(ref);
    try {
      const s = await get(name);
      return selectField(name, s.value, path);
    } catch (err) {
      const notFound = err instanceof PermanentError && err.code === ErrorCode.SECRET_NOT_FOUND;
      if (!notFound || path.length === 0 || !(err.details && !('field' in err.details))) throw err;
      return (await get(ref.trim())).value;
    }
  };

  return {
    get,
    async resolveTemplate(text: string): Promise<string> {
      const refs = templateRefs(text);
      if (refs.length === 0) return text;
      const values = new Map<string, string>();
      await Promise.all(refs.map(async (r) => values.set(r, await resolveRef(r))));
      // A field that is a JSON number/boolean/null (`${secret:db.port}`) is not registered, as in jsonLeaves;
      // a whole secret was registered when it was fetched.
      for (const v of values.values()) if (!isJsonScalar(v)) registerSecretValue(v);
      return text.replace(SECRET_TEMPLATE, (_m, ref: string) => values.get(ref.trim()) ?? '');
    },
    clear: () => held.clear(),
  };
}
