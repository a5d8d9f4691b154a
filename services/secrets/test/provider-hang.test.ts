import { collectEvents, waitFor } from '@vigil/shared/testing';
import type { NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawGet, type Stack, startService, startStack, stopStack } from './helpers.js';

// The 2026-12 walkthrough: Secrets Manager hung (240 s) and SECRETS_PROVIDER_TIMEOUT was never enforced. The warm
// cycle hung with it and then reported "completed: 4 refreshed"; no refresh-failed, no stale-served, no alert, the
// breaker stayed closed; cold secrets got no answer; new lookups joined the hanging call.
const VALUES = { 'db-password': 'Hang-7c2e-db-password', 'api-key': 'Hang-3f9a-api-key' };

let stack: Stack;
let nc: NatsConnection;

beforeAll(async () => {
  ({ stack, nc } = await startStack({ 'db-password': VALUES['db-password'] }));
});

afterAll(async () => {
  await stopStack(stack, nc);
});

describe('a hanging Secrets Manager (real AWS SDK -> local fake that never answers in time)', () => {
  it('is an outage: stale served and announced, warm cycle fails with TimeoutError, cold secrets 503 in time, breaker opens', async () => {
    const events = collectEvents(nc, '>');
    const { svc, clock } = await startService(stack, {
      SECRET_NAMES: 'db-password',
      SECRETS_TTL: '10m',
      SECRETS_PROVIDER_TIMEOUT: '300ms',
      SECRETS_BREAKER_THRESHOLD: '2',
    });
    try {
      await events.waitFor('secrets.refreshed');
      stack.fake.setSecret('api-key', VALUES['api-key']); // exists, but never fetched before the hang
      stack.fake.setDelay(60_000); // far beyond 300 ms × 2 attempts

      await clock.advance(30 * 60_000); // TTL gone; the warm cycle meets the hang
      const [failed] = await events.waitFor('secrets.refresh-failed');
      expect(failed.event.data).toMatchObject({
        names: ['db-password'],
        error: {
          type: 'TimeoutError',
          message: expect.stringMatching(/did not answer within SECRETS_PROVIDER_TIMEOUT/),
        },
        failed: [{ name: 'db-password', type: 'TimeoutError', cached: true }],
      });

      const stale = await rawGet(nc, 'db-password');
      expect(stale.body).toMatchObject({ value: VALUES['db-password'], stale: true, ageSeconds: 1800 });
      const [served] = await events.waitFor('secrets.stale-served');
      expect(served.event.data).toMatchObject({ name: 'db-password', error: { type: 'TimeoutError' } });

      // A secret never cached has nothing to serve: a clear 503 within the bound, not silence.
      const t0 = performance.now();
      const cold = await rawGet(nc, 'api-key');
      expect(performance.now() - t0).toBeLessThan(3_000); // 300 ms × 2 attempts + 1 s margin
      expect(cold.code).toBe('503');
      expect(cold.description).toMatch(/secret "api-key" is unavailable: provider error TimeoutError/);

      // Two hangs in a row opened the breaker, named by the timeout for no particular secret.
      const [opened] = await events.waitFor('breaker.opened.secrets.secrets-provider');
      expect(opened.event.data.error).toMatchObject({ type: 'TimeoutError' });
      expect(opened.event.data.error.message).toMatch(/did not answer within SECRETS_PROVIDER_TIMEOUT/);
      expect(opened.event.data.error.message).not.toMatch(/api-key|db-password/);

      // The provider answers again: lookups are answered by it, nothing is stuck behind the old hung call.
      stack.fake.setDelay(0);
      await events.waitFor('breaker.half-open.secrets.secrets-provider', 1, 5_000);
      await clock.advance(2_000); // past SECRETS_ERROR_BACKOFF: one background call checks the provider
      await waitFor(async () => (await rawGet(nc, 'db-password')).body?.stale === false);
      expect((await rawGet(nc, 'api-key')).body).toMatchObject({ value: VALUES['api-key'], stale: false });
    } finally {
      events.stop();
      await svc.stop();
    }
  });
});
