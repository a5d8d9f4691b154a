import { providerKind, type SecretsConfig } from './config.js';
import { createAwsProvider } from './providers/aws-provider.js';
import { awsCallBoundMs } from './providers/aws-timeout.js';
import { createEnvProvider } from './providers/env-provider.js';
import { createFileProvider } from './providers/file-provider.js';
import type { SecretProvider } from './providers/types.js';

/** The SDK's attempts per call: low so the stale path answers within a request's budget (aws-provider.ts). */
const AWS_ATTEMPTS = 2;

/** The configured provider: aws (SDK), file (JSON/YAML) or env (VIGIL_SECRET_*). */
export function createProvider(config: SecretsConfig, envSecrets: Record<string, string>): SecretProvider {
  switch (providerKind(config)) {
    case 'aws':
      return createAwsProvider({
        region: config.AWS_REGION,
        endpoint: config.AWS_ENDPOINT_URL_SECRETS_MANAGER,
        credentials:
          config.AWS_ACCESS_KEY_ID && config.AWS_SECRET_ACCESS_KEY
            ? {
                accessKeyId: config.AWS_ACCESS_KEY_ID,
                secretAccessKey: config.AWS_SECRET_ACCESS_KEY,
                sessionToken: config.AWS_SESSION_TOKEN,
              }
            : undefined,
        timeoutMs: config.SECRETS_PROVIDER_TIMEOUT,
        maxAttempts: AWS_ATTEMPTS,
      });
    case 'env':
      return createEnvProvider(envSecrets);
    default:
      return createFileProvider(config.SECRETS_FILE);
  }
}

/**
 * How long one call of the configured provider may take, every attempt included (the provider breaker's timeout
 * sits just above it). None for file and env: they read locally and have no SECRETS_PROVIDER_TIMEOUT to honour.
 */
export function providerCallBoundMs(config: SecretsConfig): number | false {
  return providerKind(config) === 'aws' ? awsCallBoundMs(config.SECRETS_PROVIDER_TIMEOUT, AWS_ATTEMPTS) : false;
}
