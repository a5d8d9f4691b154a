import {
  breakerRefusal,
  classify,
  type ErrorClass,
  ErrorCode,
  errorMessage,
  PermanentError,
  SECRET_NOT_FOUND_TYPE,
  TransientError,
} from '@vigil/shared';

/** Longest `reason` kept (SDK messages can be long; events and status lines stay readable). */
const MAX_REASON = 300;

/**
 * The provider has no such secret (AWS `ResourceNotFoundException`, a key missing from the file, an unset
 * variable). Permanent: it does not pass by itself. `where` names the place looked in (the secrets file). Code and
 * type (shared SECRET_NOT_FOUND_TYPE, for every provider) are what the notifier's advice follows, not the wording.
 */
export function secretNotFound(name: string, provider: string, where?: string): PermanentError {
  const place = where ? `the ${provider} provider (${where})` : `the ${provider} provider`;
  return new PermanentError(`secret "${name}" does not exist in ${place}`, {
    code: ErrorCode.SECRET_NOT_FOUND,
    details: { name, provider, type: SECRET_NOT_FOUND_TYPE, reason: `no such secret in ${place}` },
  });
}

/**
 * AWS answers for a secret deleted the normal way (scheduled for deletion, 7–30 day recovery window) with
 * InvalidRequestException, not ResourceNotFoundException. For Vigil it does not exist: same code and type as
 * secretNotFound (dropped from the cache and last-known-good, 404), with the way back in the message, since alerts
 * carry it.
 */
export function secretScheduledForDeletion(name: string, provider: string): PermanentError {
  const reason = 'scheduled for deletion (restore with aws secretsmanager restore-secret)';
  return new PermanentError(`secret "${name}" in the ${provider} provider is ${reason}`, {
    code: ErrorCode.SECRET_NOT_FOUND,
    details: { name, provider, type: SECRET_NOT_FOUND_TYPE, reason },
  });
}

/**
 * A provider failure that may pass: the stale cache answers for it. `type` is the provider's error name;
 * `reason` says what failed without naming the secret (`secrets file /etc/vigil/secrets.json does not exist`),
 * so one cause that fails every secret reads as one cause in events (`details.reason`).
 */
export function providerFailure(name: string, provider: string, type: string, reason: string): TransientError {
  return new TransientError(`${provider} provider error ${type} for secret "${name}": ${reason}`, {
    code: ErrorCode.SECRETS_PROVIDER,
    details: { name, provider, type, reason },
  });
}

/** The provider's error name (e.g. InternalServiceError) carried by a provider failure, for logs and events. */
export function providerErrorType(err: unknown): string {
  if (err && typeof err === 'object') {
    const details = (err as { details?: { type?: unknown } }).details;
    if (details && typeof details.type === 'string') return details.type;
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const name = (err as { name?: unknown }).name;
    if (typeof name === 'string') return name;
  }
  return 'Error';
}

/**
 * A provider breaker refusal (VIGIL_E_BREAKER_OPEN), as thrown or wrapped by the cache (SECRET_UNAVAILABLE when
 * nothing is cached): the provider was not asked. `type` is the provider error that opened the breaker, so alerts
 * name (and group by) what the provider said, not the breaker; `cause` is that error when the breaker kept it.
 */
export function providerBreakerRefusal(err: unknown): { type: string; cause?: unknown } | undefined {
  const refusal = breakerRefusal(err);
  if (!refusal) return undefined;
  const cause = refusal.openedBy;
  return cause === undefined ? { type: ErrorCode.BREAKER_OPEN } : { type: providerErrorType(cause), cause };
}

/** One provider failure as logs, events and `secrets.status` show it (never a value). */
export interface ProviderFailureView {
  /** The provider's error name; for a breaker refusal, the provider error that opened the breaker. */
  type: string;
  /** The whole story for people: the provider's message, or why the provider was not asked. */
  message: string;
  /** What failed without the secret's name: the same text for every secret one cause fails. */
  reason: string;
  /** `permanent` for a secret that does not exist (it does not pass by itself), else the error's class. */
  class: ErrorClass;
  /** The open provider breaker refused the call: the provider was not asked. */
  refused?: true;
  /** The provider says the secret does not exist (evicted from the cache, `secrets.get` answers 404). */
  notFound?: true;
}

/**
 * Names a provider failure the same way everywhere (warm events, stale-served events, log lines, status): a call
 * the open breaker refused is named by the provider error that opened it, never VIGIL_E_BREAKER_OPEN.
 */
export function describeProviderFailure(err: unknown): ProviderFailureView {
  const refusal = providerBreakerRefusal(err);
  if (refusal) {
    const last = refusal.cause === undefined ? refusal.type : `${refusal.type}: ${reasonOf(refusal.cause)}`;
    return {
      type: refusal.type,
      message: `not asked: the provider breaker is open after provider errors (last: ${last})`,
      reason: refusal.cause === undefined ? 'the provider breaker is open' : reasonOf(refusal.cause),
      class: 'transient',
      refused: true,
    };
  }
  const notFound = isSecretNotFound(err);
  return {
    type: providerErrorType(err),
    message: errorMessage(err),
    reason: reasonOf(err),
    class: notFound ? 'permanent' : classify(err),
    ...(notFound ? { notFound: true as const } : {}),
  };
}

/** The provider says the secret does not exist (PermanentError VIGIL_E_SECRET_NOT_FOUND). */
export function isSecretNotFound(err: unknown): boolean {
  return err instanceof PermanentError && err.code === ErrorCode.SECRET_NOT_FOUND;
}

/** `details.reason` of a provider error (the cause's, for a wrapping error), else its message. */
function reasonOf(err: unknown): string {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 3; depth++) {
    const reason = (e as { details?: { reason?: unknown } }).details?.reason;
    if (typeof reason === 'string' && reason) return clip(reason);
    e = (e as { cause?: unknown }).cause;
  }
  return clip(errorMessage(err));
}

function clip(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_REASON ? `${flat.slice(0, MAX_REASON - 1)}…` : flat;
}
