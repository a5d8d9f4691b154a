import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { initTracing, isTracingEnabled, withSpan } from '@vigil/shared';
import { startHttpReceiver, startRedis } from '@vigil/shared/testing';

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
    const t = initTracing('vigil-test-svc', { endpoint: `${collector.url}/`, instance: 'host-a-123-beef' });
    expect(isTracingEnabled()).toBe(true);
    await withSpan('unit of work', async () => 42, { attributes: { 'vigil.job': 'daily' } });
    // HTTP server spans: a plain node:http server loaded through ESM import
    const server = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve, reject) =>
      http.get(`http://127.0.0.1:${port}/api/jobs`, (res) => res.resume().on('end', resolve)).on('error', reject),
    );
    await new Promise((r) => server.close(r));
    const redis = await startRedis();
    afterAll(() => redis.stop());
    const client = new Redis(redis.url);
    // ioredis spans need a parent (a consume or HTTP span in services)
    await withSpan('handle webhook', () => client.set('traced-key', 'v'));
    client.disconnect();
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
    expect(body).toContain('/api/jobs');
    expect(body).toMatch(/"name":"set"/);
    // Jaeger tells replicas apart: the instance id and the host (the pod name in Kubernetes) ride on every span
    expect(body).toContain('"key":"service.instance.id","value":{"stringValue":"host-a-123-beef"}');
    expect(body).toContain(`"key":"host.name","value":{"stringValue":"${hostname()}"}`);
  });
});
