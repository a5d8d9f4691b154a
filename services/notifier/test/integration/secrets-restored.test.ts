import { waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

// A secret deleted by mistake (the provider answers ResourceNotFoundException), then restored: the ✅ RESOLVED email
// used to say "secrets provider recovered: aws answers again (down …)" for a provider that was never down.
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.stop();
});

const mail = (re: RegExp) => waitFor(() => h.sink.messages.find((m) => re.test(m.subject)), { timeout: 15_000 });

describe('a deleted secret restored', () => {
  it('the RESOLVED email says the secret exists again, not that the provider recovered', async () => {
    await h.bus.publish('secrets.refresh-failed', {
      names: ['partner-api-key'],
      failed: [
        {
          name: 'partner-api-key',
          type: 'ResourceNotFoundException',
          error:
            'aws: secret partner-api-key not found: not served (a cached value is dropped), secrets.get answers 404',
          class: 'permanent',
          cached: false,
        },
      ],
      total: 4,
      refreshed: 3,
      severity: 'WARNING',
      error: { type: 'ResourceNotFoundException', message: '1 of 4 secrets failed to refresh', class: 'permanent' },
      cached: false,
      at: new Date().toISOString(),
      provider: 'aws',
      durationMs: 40,
    });
    await mail(/^⚠️ WARNING: secrets refresh failed: partner-api-key/);

    await h.bus.publish('secrets.refreshed', {
      names: ['openai', 'companies', 'partner-api-key', 'job_failure_recipients'],
      total: 4,
      recovered: true,
      at: new Date().toISOString(),
      provider: 'aws',
      durationMs: 35,
    });
    const resolved = await mail(/^✅ RESOLVED/);
    expect(resolved.subject).toMatch(/^✅ RESOLVED: secret partner-api-key exists again in aws \(missing /);
    expect(resolved.subject).not.toMatch(/provider recovered/);
    expect(resolved.text).toMatch(/Missing for:/);
    expect(resolved.text).toContain('partner-api-key can be read again');
    expect(resolved.text).not.toMatch(/Down for:/);
  });
});
