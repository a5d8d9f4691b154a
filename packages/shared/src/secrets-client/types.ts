import type { Logger } from '../log/index.js';

/**
 * What a secret name may be: AWS Secrets Manager's rule (letters, digits and / _ + = . @ -, 1 to 512 characters),
 * which the file and env providers also accept. Checked where a name enters Vigil (`secrets.get`, `webhook.send`'s
 * `secretName`) before it reaches a provider, a log line or a NATS header (a CR or LF there would break it).
 */
export const SECRET_NAME_PATTERN = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
export const SECRET_NAME_RULE = 'a secret name is 1 to 512 letters, digits and / _ + = . @ - characters';

/**
 * How the secrets service says a value is too old to serve (SECRETS_MAX_STALE). A client holding an earlier copy of
 * the same value must not serve it either: its copy is at least as old.
 */
export const MAX_STALE_REFUSAL = 'the cached value is older than the maximum stale age';

/** One secret as served by `vigil-secrets` (contract §4). `stale` values come from a cache during an outage. */
export interface SecretValue {
  name: string;
  value: string;
  version?: string;
  stale: boolean;
  ageSeconds: number;
  /** aws | file | env | last-known-good (the service's encrypted Redis copy) */
  source: string;
  /** 'base64' when the secret is binary that is not UTF-8 text. */
  encoding?: 'utf8' | 'base64';
}

/**
 * One line of the `secrets.status` reply (`vigil secrets status`): ages and staleness, never a value. A secret
 * named in the configuration that never loaded has `cached: false` and null age and source.
 */
export interface SecretStatus {
  name: string;
  cached: boolean;
  ageSeconds: number | null;
  /** aws | file | env | last-known-good, or null when nothing was ever loaded. */
  source: string | null;
  stale: boolean;
  /** The provider's last failure for this secret, kept until a refresh succeeds. */
  lastError?: { type: string; message: string; at: string };
  expiresInSeconds: number;
  /** The provider says the secret does not exist (deleted): nothing is served, `secrets.get` answers 404. */
  notFound?: boolean;
}

export interface SecretsClientOptions {
  /** How long a value is reused in-process before asking the service again. Default 30 s. */
  cacheTtlMs?: number;
  /** Request timeout. Default 2 s. */
  timeoutMs?: number;
  logger: Logger;
  /** Injected time for tests. */
  now?: () => number;
  /** Request subject; default `secrets.get`. */
  subject?: string;
}

export interface SecretGetOptions {
  /**
   * false: this value is not secret material, so neither it nor its JSON fields are registered for log redaction.
   * For a secret that only keeps a list out of the jobs file (a job's `targets: { secret }`): its names are in clear
   * in events, emails and artifact names, and scrubbing them (substring match) from every log line, of every job,
   * would hide the one field per-target debugging greps for. Default true. It does not undo an earlier
   * registration: a value another caller read as a secret stays redacted.
   */
  redact?: boolean;
}

export interface SecretsClient {
  /**
   * The secret's value, registered for log redaction with its JSON string fields unless `{ redact: false }`.
   * Rejects with PermanentError VIGIL_E_SECRET_NOT_FOUND or TransientError VIGIL_E_SECRET_UNAVAILABLE (service
   * unreachable / provider down, nothing cached).
   */
  get(name: string, opts?: SecretGetOptions): Promise<SecretValue>;
  /** Replaces every `${secret:NAME}` and `${secret:NAME.field}` (field path inside a JSON secret). */
  resolveTemplate(text: string): Promise<string>;
  /** Drops the in-process cache (e.g. after a rotation). */
  clear(): void;
}
