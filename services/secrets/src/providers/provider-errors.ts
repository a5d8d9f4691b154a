import { ErrorCode, PermanentError, TransientError } from '@vigil/shared';

export function secretNotFound(name: string, provider: string): PermanentError {
  return new PermanentError(`secret "${name}" does not exist in the ${provider} provider`, {
    code: ErrorCode.SECRET_NOT_FOUND,
    details: { name, provider, type: 'ResourceNotFoundException' },
  });
}

/** A provider failure that may pass: the stale cache answers for it. `type` is the provider's error name. */
export function providerFailure(name: string, provider: string, type: string, message: string): TransientError {
  return new TransientError(`${provider} provider error ${type} for secret "${name}": ${message}`, {
    code: ErrorCode.SECRETS_PROVIDER,
    details: { name, provider, type },
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
