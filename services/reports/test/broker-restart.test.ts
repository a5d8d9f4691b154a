import { startNats, type TestServer, waitFor } from '@vigil/shared/testing';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReportsService } from '../src/service.js';
import { jobsDir, requestRun } from './helpers.js';

const g = globalThis as unknown as { brokerTest: Map<string, number> };
g.brokerTest = new Map();

describe('NATS killed with -9 and restarted while runs are in flight', () => {
  let nats: TestServer;
  let nc: NatsConnection;
  let service: Awaited<ReturnType<typeof startReportsService>>;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    const { file } = jobsDir(
      'jobs:\n  steady:\n    handler: module:./steady.mjs\n    concurrency: allow\n    retries: { max: 0 }\n',
      {
        'steady.mjs': `export default { async run(ctx) {
        await new Promise((r) => setTimeout(r, 30));
        globalThis.brokerTest.set(ctx.runId, (globalThis.brokerTest.get(ctx.runId) ?? 0) + 1);
      } };`,
      },
    );
    service = await startReportsService({
      env: {
        NATS_URL: nats.url,
        VIGIL_JOBS_FILE: file,
        HTTP_PORT: '0',
        LOG_LEVEL: 'silent',
        RUNNER_ACK_WAIT: '2s',
        RUNNER_CONCURRENCY: '10',
      },
      handleSignals: false,
    });
  });

  afterAll(async () => {
    await service?.stop();
    await nc?.close();
    await nats?.stop();
  });

  it('finishes every run once the broker is back; none lost, none executed twice', async () => {
    const ids = Array.from({ length: 200 }, (_, i) => `b-${i}`);
    await Promise.all(ids.map((id) => requestRun(nc, 'steady', id)));
    await waitFor(() => g.brokerTest.size >= 40, 10_000);
    await nats.kill();
    await new Promise((r) => setTimeout(r, 500));
    await nats.start();
    const jsm = await waitFor(async () => nc.jetstreamManager(), 15_000);
    await waitFor(
      async () => {
        const info = await jsm.streams.info('VIGIL_JOBS', { subjects_filter: 'job.succeeded.steady' });
        return info.state.subjects?.['job.succeeded.steady'] === 200;
      },
      { timeout: 45_000, interval: 200, message: '200 terminal events in the stream' },
    );
    expect(g.brokerTest.size).toBe(200);
    expect([...g.brokerTest].filter(([, n]) => n > 1)).toEqual([]);
  }, 60_000);
});
