import net, { type AddressInfo, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { initTracing, withSpan } from '@vigil/shared';

// Its own file: OpenTelemetry's global tracer provider is registered once per process.
describe('tracing at shutdown', () => {
  it('a collector that accepts and never answers holds a stop for seconds, not the whole shutdown budget', async () => {
    const held: Socket[] = [];
    const silent = net.createServer((s) => held.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    afterAll(() => {
      for (const s of held) s.destroy();
      silent.close();
    });
    const port = (silent.address() as AddressInfo).port;
    const t = initTracing('vigil-test-svc', { endpoint: `http://127.0.0.1:${port}` });
    await withSpan('work before the stop', async () => 1);
    const began = performance.now();
    // the spans it could not deliver are lost either way: the stop goes on (run-service logs the failure)
    await t.shutdown().catch(() => undefined);
    expect(held.length).toBeGreaterThan(0); // the flush did reach the collector
    expect(performance.now() - began).toBeLessThan(5_000);
  });
});
