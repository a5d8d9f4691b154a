import { collectEvents, waitFor } from '@vigil/shared/testing';
import type { NatsConnection } from 'nats';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { capturedLogLines, type Stack, startService, startStack, stopStack } from './helpers.js';

// The live run of 2025-11: AWS recovered, the next warm cycle met the provider breaker half-open; it let one call
// through (which succeeded) and refused the three others, and the cycle mailed "🚨 CRITICAL: secrets refresh
// failed: openai, companies, partner-api-key — VIGIL_E_BREAKER_OPEN" for a provider that was fine again.
const NAMES = ['openai', 'companies', 'partner-api-key', 'job_failure_recipients'];
const ENV = {
  SECRET_NAMES: NAMES.join(','),
  SECRETS_WARM_INTERVAL: '30m',
  SECRETS_BREAKER_THRESHOLD: '2',
  SECRETS_BREAKER_RESET: '300ms',
};

let stack: Stack;
let nc: NatsConnection;

beforeAll(async () => {
  ({ stack, nc } = await startStack(Object.fromEntries(NAMES.map((n) => [n, `value-of-${n}`]))));
});

afterAll(async () => {
  await stopStack(stack, nc);
});

beforeEach(() => {
  stack.fake.recover();
  stack.fake.setDelay(0);
});

/** Starts the service, warms once healthy, then a failing warm cycle opens the breaker; resolves once half-open. */
async function outageWithHalfOpenBreaker() {
  const events = collectEvents(nc, '>');
  const { svc, clock } = await startService(stack, ENV);
  await events.waitFor('secrets.refreshed');
  stack.fake.failWithInternalError();
  await clock.advance(30 * 60_000);
  const [failed] = await events.waitFor('secrets.refresh-failed');
  expect(failed.event.data).toMatchObject({ severity: 'CRITICAL', total: 4, refreshed: 0 });
  await events.waitFor('breaker.opened.secrets.secrets-provider');
  // the breaker's own reset timer (real time) lets the next call through as a probe
  await events.waitFor('breaker.half-open.secrets.secrets-provider', 1, 5_000);
  return { events, svc, clock };
}

describe('warming through a half-open provider breaker (real AWS SDK -> local Secrets Manager)', () => {
  it('after the provider recovered: the probe succeeds, the refused secrets are warmed again, no refresh-failed', async () => {
    const { events, svc, clock } = await outageWithHalfOpenBreaker();
    try {
      expect(capturedLogLines.some((l) => l.includes('secrets warming failed: 4/4 failed to refresh'))).toBe(true);
      stack.fake.recover();
      stack.fake.setDelay(50); // the probe is still in flight while the other three ask
      stack.fake.resetCalls();
      await clock.advance(30 * 60_000);

      const ok = await waitFor(() => events.of('secrets.refreshed').find((e) => e.event.data.recovered === true));
      expect([...ok.event.data.names].sort()).toEqual([...NAMES].sort());
      expect(ok.event.data.total).toBe(4);
      expect(events.of('secrets.refresh-failed')).toHaveLength(1); // only the one of the real outage
      await events.waitFor('breaker.closed.secrets.secrets-provider');
      // every secret was asked (the refused ones once the probe had closed the breaker)
      for (const n of NAMES) expect(stack.fake.calls(n)).toBe(1);
      expect(capturedLogLines.some((l) => /breaker refused 3 secret\(s\) while its probe ran/.test(l))).toBe(true);
    } finally {
      events.stop();
      await svc.stop();
    }
  });

  it('while the provider still fails: the probe fails, refusals count, named by the provider error', async () => {
    const { events, svc, clock } = await outageWithHalfOpenBreaker();
    try {
      await clock.advance(30 * 60_000);
      const [, again] = await events.waitFor('secrets.refresh-failed', 2);
      expect(again.event.data).toMatchObject({ severity: 'CRITICAL', total: 4, refreshed: 0 });
      // never "VIGIL_E_BREAKER_OPEN": the email names what the provider said
      expect(again.event.data.error.type).toBe('InternalServiceError');
      const failed = again.event.data.failed as Array<{ name: string; type: string; refused?: boolean }>;
      expect(failed.map((f) => f.type)).toEqual(NAMES.map(() => 'InternalServiceError'));
      expect(failed.filter((f) => f.refused).length).toBe(3); // one probe reached the provider
      expect(events.of('secrets.refreshed').filter((e) => e.event.data.recovered === true)).toHaveLength(0);
    } finally {
      events.stop();
      await svc.stop();
    }
  });
});
