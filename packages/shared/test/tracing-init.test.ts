import { afterAll, describe, expect, it } from 'vitest';
import { initTracing, isTracingEnabled, withSpan } from '@vigil/shared';
import { startHttpReceiver } from '@vigil/shared/testing';

describe('initTracing', () => {
  it('installs nothing without an endpoint (tracing off costs nothing)', async () => {
    const t = initTracing('svc');
    expect(t.enabled).toBe(false);
    expect(isTracingEnabled()).toBe(false);
    await t.shutdown();
  });

  it('exports spans over OTLP/HTTP to the configured endpoint', async () => {
    const collector = await startHttpReceiver(() => ({ status: 200, body: {} }));
    afterAll(() => collector.close());
    const t = initTracing('vigil-test-svc', { endpoint: `${collector.url}/` });
    expect(isTracingEnabled()).toBe(true);
    await withSpan('unit of work', async () => 42, { attributes: { 'vigil.job': 'daily' } });
    await expect(
      withSpan('failing work', async () => {
        throw new Error('nope');
      }),
    ).rejects.toThrow('nope');
    await t.shutdown();
    expect(isTracingEnabled()).toBe(false);
    const posts = collector.requests.filter((r) => r.method === 'POST' && r.url === '/v1/traces');
    expect(posts.length).toBeGreaterThan(0);
    const body = posts.map((p) => p.body).join('');
    expect(body).toContain('unit of work');
    expect(body).toContain('vigil-test-svc');
  });
});
