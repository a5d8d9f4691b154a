import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { deadlineSignal, VigilError } from '@vigil/shared';
import { awsCallBoundMs, awsTimeoutReason, isAwsTimeout } from './aws-timeout.js';
import { providerFailure, secretNotFound, secretScheduledForDeletion } from './provider-errors.js';
import type { ProviderValue, SecretProvider } from './types.js';

export interface AwsProviderOptions {
  region?: string;
  /** AWS_ENDPOINT_URL_SECRETS_MANAGER (LocalStack, a VPC endpoint, the test fake). */
  endpoint?: string;
  /** Explicit keys; without them the SDK's default credential chain decides. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Per-attempt timeout (SECRETS_PROVIDER_TIMEOUT); the stale cache answers when it passes. Default 5 s. */
  timeoutMs?: number;
  /**
   * The SDK's own attempts. Kept low (2) on purpose: during an outage the stale cache must answer within
   * a request's budget, and the breaker plus warming do the long-term retrying.
   */
  maxAttempts?: number;
}

const NOT_FOUND = new Set(['ResourceNotFoundException']);
/**
 * A secret deleted the normal way (a 7–30 day recovery window) answers 400 InvalidRequestException, not
 * ResourceNotFoundException: for Vigil it no longer exists, only the wording tells it from other invalid requests.
 */
const SCHEDULED_FOR_DELETION = /marked for deletion|scheduled for deletion/i;

/** AWS Secrets Manager through the official SDK: SecretString as is (JSON stays text), SecretBinary decoded. */
export function createAwsProvider(opts: AwsProviderOptions): SecretProvider {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const maxAttempts = opts.maxAttempts ?? 2;
  const boundMs = awsCallBoundMs(timeoutMs, maxAttempts);
  const client = new SecretsManagerClient({
    region: opts.region,
    endpoint: opts.endpoint,
    credentials: opts.credentials,
    maxAttempts,
    requestHandler: {
      requestTimeout: timeoutMs,
      // Without it node-http-handler 4.x only logs a warning when requestTimeout passes and keeps waiting.
      throwOnRequestTimeout: true,
      connectionTimeout: Math.min(timeoutMs, 2000),
    },
  });
  const timeout = { timeoutMs, maxAttempts };
  return {
    name: 'aws',
    async get(name: string): Promise<ProviderValue> {
      // A hard bound over every attempt and the backoff between them, whatever the handler's timers do. Not
      // AbortSignal.timeout: after a garbage collection it may never fire (see deadlineSignal).
      const deadline = deadlineSignal(boundMs);
      try {
        const out = await client.send(new GetSecretValueCommand({ SecretId: name }), {
          abortSignal: deadline.signal,
        });
        if (typeof out.SecretString === 'string') return { value: out.SecretString, version: out.VersionId };
        if (out.SecretBinary) return { ...decodeBinary(out.SecretBinary), version: out.VersionId };
        throw providerFailure(name, 'aws', 'EmptySecret', 'the secret has neither SecretString nor SecretBinary');
      } catch (err) {
        throw toProviderError(name, err, timeout);
      } finally {
        deadline.clear();
      }
    },
    close: () => client.destroy(),
  };
}

function decodeBinary(bytes: Uint8Array): ProviderValue {
  try {
    return { value: new TextDecoder('utf-8', { fatal: true }).decode(bytes), encoding: 'utf8' };
  } catch {
    return { value: Buffer.from(bytes).toString('base64'), encoding: 'base64' };
  }
}

function toProviderError(name: string, err: unknown, timeout: { timeoutMs: number; maxAttempts: number }): Error {
  if (err instanceof VigilError) return err;
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const type = e?.name ?? 'Error';
  if (NOT_FOUND.has(type)) return secretNotFound(name, 'aws');
  if (type === 'InvalidRequestException' && SCHEDULED_FOR_DELETION.test(e?.message ?? '')) {
    return secretScheduledForDeletion(name, 'aws');
  }
  if (isAwsTimeout(err)) {
    return providerFailure(name, 'aws', 'TimeoutError', awsTimeoutReason(timeout.timeoutMs, timeout.maxAttempts));
  }
  const status = e?.$metadata?.httpStatusCode;
  const message = `${e?.message ?? String(err)}${status ? ` (HTTP ${status})` : ''}`;
  return providerFailure(name, 'aws', type, message);
}
