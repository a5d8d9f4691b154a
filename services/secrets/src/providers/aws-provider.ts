import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { VigilError } from '@vigil/shared';
import { providerFailure, secretNotFound } from './provider-errors.js';
import type { ProviderValue, SecretProvider } from './types.js';

export interface AwsProviderOptions {
  region?: string;
  /** AWS_ENDPOINT_URL_SECRETS_MANAGER (LocalStack, a VPC endpoint, the test fake). */
  endpoint?: string;
  /** Explicit keys; without them the SDK's default credential chain decides. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Per-request timeout; the stale cache answers when it passes. */
  timeoutMs?: number;
  /**
   * The SDK's own attempts. Kept low (2) on purpose: during an outage the stale cache must answer within
   * a request's budget, and the breaker plus warming do the long-term retrying.
   */
  maxAttempts?: number;
}

const NOT_FOUND = new Set(['ResourceNotFoundException']);

/** AWS Secrets Manager through the official SDK: SecretString as is (JSON stays text), SecretBinary decoded. */
export function createAwsProvider(opts: AwsProviderOptions): SecretProvider {
  const client = new SecretsManagerClient({
    region: opts.region,
    endpoint: opts.endpoint,
    credentials: opts.credentials,
    maxAttempts: opts.maxAttempts ?? 2,
    requestHandler: {
      requestTimeout: opts.timeoutMs ?? 5000,
      connectionTimeout: Math.min(opts.timeoutMs ?? 5000, 2000),
    },
  });
  return {
    name: 'aws',
    async get(name: string): Promise<ProviderValue> {
      try {
        const out = await client.send(new GetSecretValueCommand({ SecretId: name }));
        if (typeof out.SecretString === 'string') return { value: out.SecretString, version: out.VersionId };
        if (out.SecretBinary) return { ...decodeBinary(out.SecretBinary), version: out.VersionId };
        throw providerFailure(name, 'aws', 'EmptySecret', 'the secret has neither SecretString nor SecretBinary');
      } catch (err) {
        throw toProviderError(name, err);
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

function toProviderError(name: string, err: unknown): Error {
  if (err instanceof VigilError) return err;
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const type = e?.name ?? 'Error';
  if (NOT_FOUND.has(type)) return secretNotFound(name, 'aws');
  const status = e?.$metadata?.httpStatusCode;
  const message = `${e?.message ?? String(err)}${status ? ` (HTTP ${status})` : ''}`;
  return providerFailure(name, 'aws', type, message);
}
