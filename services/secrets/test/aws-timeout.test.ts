import { ErrorCode, TransientError } from '@vigil/shared';
import { type FakeSecretsManager, startFakeSecretsManager, waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { secretsConfigSchema } from '../src/config.js';
import { createProviderBreaker } from '../src/provider-breaker.js';
import { providerCallBoundMs } from '../src/provider-factory.js';
import { createAwsProvider } from '../src/providers/aws-provider.js';
import { awsCallBoundMs } from '../src/providers/aws-timeout.js';
import type { SecretProvider } from '../src/providers/types.js';

// The 2026-12 walkthrough: SECRETS_PROVIDER_TIMEOUT was only a warning in node-http-handler 4.x, so a hanging
// Secrets Manager hung every lookup for as long as it hung (20 s, 4 min), failing nothing and alerting nobody.

describe('aws provider timeout (real SDK against the fake Secrets Manager)', () => {
  let fake: FakeSecretsManager;
  beforeAll(async () => {
    fake = await startFakeSecretsManager({ plain: 'p-value' });
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => {
    fake.setDelay(0);
    fake.resetCalls();
  });

  it('a provider slower than SECRETS_PROVIDER_TIMEOUT fails every attempt in time with TimeoutError', async () => {
    const provider = createAwsProvider({
      region: 'us-east-1',
      endpoint: fake.url,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      timeoutMs: 200,
      maxAttempts: 2,
    });
    try {
      fake.setDelay(20_000);
      const t0 = performance.now();
      const err = await provider.get('plain').catch((e: unknown) => e);
      const took = performance.now() - t0;
      expect(err).toBeInstanceOf(TransientError);
      expect(err).toMatchObject({
        code: ErrorCode.SECRETS_PROVIDER,
        details: {
          type: 'TimeoutError',
          reason: 'AWS Secrets Manager did not answer within SECRETS_PROVIDER_TIMEOUT (200 ms per attempt, 2 attempts)',
        },
      });
      expect(took).toBeLessThan(awsCallBoundMs(200, 2) + 500);
      expect(fake.calls('plain')).toBe(2); // the SDK retried once, then gave up

      fake.setDelay(0); // a provider that answers again is answered from at once
      expect(await provider.get('plain')).toMatchObject({ value: 'p-value' });
    } finally {
      provider.close?.();
    }
  });
});

describe('provider breaker call bound', () => {
  it('only the aws provider has one; file and env read locally and keep no timeout', () => {
    const config = (env: Record<string, string>) => secretsConfigSchema.parse({ NATS_URL: 'nats://x:4222', ...env });
    expect(providerCallBoundMs(config({ AWS_REGION: 'eu-west-1', SECRETS_PROVIDER_TIMEOUT: '3s' }))).toBe(
      awsCallBoundMs(3_000, 2),
    );
    expect(providerCallBoundMs(config({ SECRETS_PROVIDER: 'file' }))).toBe(false);
    expect(providerCallBoundMs(config({ SECRETS_PROVIDER: 'env' }))).toBe(false);
  });

  it("a call that outlives the provider's own bound fails as a TimeoutError and counts towards opening", async () => {
    // A provider whose own bound failed (it never settles): the breaker's timeout is the backstop.
    const hung: Array<() => void> = [];
    const provider: SecretProvider = {
      name: 'aws',
      get: () => new Promise((resolve) => hung.push(() => resolve({ value: 'late' }))),
    };
    const published: Array<{ subject: string; data: Record<string, unknown> }> = [];
    const { fetch, breaker } = createProviderBreaker({
      provider,
      callBoundMs: 100,
      service: 'secrets',
      bus: { publish: (subject, data) => void published.push({ subject, data }) },
      failureThreshold: 1,
      resetTimeoutMs: 60_000,
    });
    try {
      const err = await fetch('db-password').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransientError);
      expect(err).toMatchObject({ code: ErrorCode.SECRETS_PROVIDER, details: { type: 'TimeoutError' } });
      expect(breaker.state).toBe('open');
      const opened = await waitFor(() => published.find((p) => p.subject.startsWith('breaker.opened.')));
      expect(opened.data.error).toMatchObject({
        type: 'TimeoutError',
        message: expect.stringMatching(/did not answer/),
      });
    } finally {
      for (const r of hung) r();
      breaker.shutdown();
    }
  });
});
