import { randomBytes } from 'node:crypto';
import { ErrorCode, PermanentError, SECRET_NOT_FOUND_TYPE, TransientError } from '@vigil/shared';
import { collectEvents, waitFor } from '@vigil/shared/testing';
import { Redis } from 'ioredis';
import type { NatsConnection } from 'nats';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LKG_KEY_PREFIX } from '../src/lkg-store.js';
import { createAwsProvider } from '../src/providers/aws-provider.js';
import { rawGet, type Stack, startService, startStack, stopStack } from './helpers.js';

// A secret deleted in AWS the normal way (DeleteSecret with a 7–30 day recovery window) answers 400
// InvalidRequestException "…marked for deletion.", not ResourceNotFoundException: it was served stale for days
// and alerted as an outage.
const RESTORE = 'scheduled for deletion (restore with aws secretsmanager restore-secret)';

let stack: Stack;
let nc: NatsConnection;

beforeAll(async () => {
  ({ stack, nc } = await startStack({ 'partner-api-key': 'Del-8e4b-partner', other: 'Del-1a2c-other' }));
});

afterAll(async () => {
  await stopStack(stack, nc);
});

beforeEach(() => {
  stack.fake.recover();
  stack.fake.restoreSecret('partner-api-key');
  stack.fake.resetCalls();
});

describe('a secret scheduled for deletion', () => {
  it('the aws provider says it does not exist, and how to restore it; other InvalidRequestExceptions stay failures', async () => {
    const provider = createAwsProvider({
      region: 'us-east-1',
      endpoint: stack.fake.url,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    try {
      stack.fake.scheduleDeletion('partner-api-key');
      const err = await provider.get('partner-api-key').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PermanentError);
      expect(err).toMatchObject({
        code: ErrorCode.SECRET_NOT_FOUND,
        details: { type: SECRET_NOT_FOUND_TYPE, reason: RESTORE },
      });
      expect((err as Error).message).toBe(`secret "partner-api-key" in the aws provider is ${RESTORE}`);

      stack.fake.restoreSecret('partner-api-key');
      expect(await provider.get('partner-api-key')).toMatchObject({ value: 'Del-8e4b-partner' });

      stack.fake.failWith(400, 'InvalidRequestException', {
        message: 'You provided a parameter value that is not valid.',
      });
      const other = await provider.get('partner-api-key').catch((e: unknown) => e);
      expect(other).toBeInstanceOf(TransientError);
      expect(other).toMatchObject({ details: { type: 'InvalidRequestException' } });
    } finally {
      provider.close?.();
    }
  });

  it('is dropped from the cache and last-known-good, answers 404, is NOT FOUND in status, never served stale', async () => {
    const events = collectEvents(nc, 'secrets.>');
    const redis = new Redis(stack.redis.url);
    const { svc, clock } = await startService(stack, {
      SECRET_NAMES: 'partner-api-key,other',
      SECRETS_TTL: '1m',
      SECRETS_CACHE_KEY: randomBytes(32).toString('base64'),
    });
    try {
      await events.waitFor('secrets.refreshed');
      expect((await rawGet(nc, 'partner-api-key')).body).toMatchObject({ value: 'Del-8e4b-partner', stale: false });
      await waitFor(() => redis.get(`${LKG_KEY_PREFIX}partner-api-key`));

      stack.fake.scheduleDeletion('partner-api-key');
      await clock.advance(2 * 60_000); // TTL gone: the next lookup asks AWS
      const gone = await rawGet(nc, 'partner-api-key');
      expect(gone.code).toBe('404');
      expect(gone.description).toContain(RESTORE);
      expect(await redis.get(`${LKG_KEY_PREFIX}partner-api-key`)).toBeNull();

      const status = JSON.parse(
        new TextDecoder().decode((await nc.request('secrets.status', undefined, { timeout: 2_000 })).data),
      ) as Array<Record<string, unknown>>;
      expect(status.find((s) => s.name === 'partner-api-key')).toMatchObject({
        cached: false,
        stale: false,
        notFound: true,
        lastError: { message: expect.stringContaining(RESTORE) },
      });

      await clock.advance(30 * 60_000); // the warm cycle reports it as gone, not as an outage
      const [failed] = await events.waitFor('secrets.refresh-failed');
      expect(failed.event.data).toMatchObject({
        severity: 'WARNING',
        failed: [{ name: 'partner-api-key', class: 'permanent', cached: false }],
      });
      expect(failed.event.data.failed[0].error).toContain(RESTORE);
      expect(events.of('secrets.stale-served')).toHaveLength(0);

      stack.fake.restoreSecret('partner-api-key'); // restore-secret brings it back at the next lookup
      expect((await rawGet(nc, 'partner-api-key')).body).toMatchObject({ value: 'Del-8e4b-partner', stale: false });
    } finally {
      events.stop();
      redis.disconnect();
      await svc.stop();
    }
  });
});
