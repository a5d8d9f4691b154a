import { startNats, type TestServer, waitFor } from '@vigil/shared/testing';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobsDir, requestRun, startRunner } from './helpers.js';

const g = globalThis as unknown as { brokerTest: Map<string, number> };
g.brokerTest = new Map();

describe('NATS killed with -9 and restarted while runs are in flight', () => {
  let nats: TestServer;
  let nc: NatsConnection;
  let service: Awaited<ReturnType<typeof startRunner>>;

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
    service = await startRunner(nats.url, file, { RUNNER_ACK_WAIT: '2s', RUNNER_CONCURRENCY: '10' });
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

// The mechanism behind repeats after a kill -9: the broker comes back with consumer state older than its
// streams, so runs already finished are delivered again, often as *first* deliveries (not flagged
// redelivered). Deleting the consumer forces that deterministically: it is re-created and delivers every
// request again from the start, without any reconnect that would put the runner on guard.
describe('the broker forgets the runner consumer’s acks (finished runs delivered again as first deliveries)', () => {
  let nats: TestServer;
  let nc: NatsConnection;
  let service: Awaited<ReturnType<typeof startRunner>>;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    const { file } = jobsDir('jobs:\n  quick:\n    handler: module:./quick.mjs\n    retries: { max: 0 }\n', {
      'quick.mjs': `export default { async run(ctx) {
        globalThis.brokerTest.set(ctx.runId, (globalThis.brokerTest.get(ctx.runId) ?? 0) + 1);
      } };`,
    });
    service = await startRunner(nats.url, file, { RUNNER_ACK_WAIT: '2s' });
  });

  afterAll(async () => {
    await service?.stop();
    await nc?.close();
    await nats?.stop();
  });

  it('answers them from memory: no run executed twice, no extra terminal event', async () => {
    const ids = Array.from({ length: 50 }, (_, i) => `f-${i}`);
    for (const id of ids) await requestRun(nc, 'quick', id);
    const jsm = await nc.jetstreamManager();
    const succeeded = async () =>
      (await jsm.streams.info('VIGIL_JOBS', { subjects_filter: 'job.succeeded.quick' })).state.subjects?.[
        'job.succeeded.quick'
      ] ?? 0;
    await waitFor(async () => (await succeeded()) === 50, { timeout: 20_000, message: '50 terminal events' });
    await waitFor(async () => (await jsm.consumers.info('VIGIL_JOBS', 'runner')).num_ack_pending === 0, 10_000);

    const { created } = await jsm.consumers.info('VIGIL_JOBS', 'runner');
    // nats-server 2.9 may answer a delete that raced its own write of the consumer's state with an error
    // ("unlinkat …/obs/runner: directory not empty") after removing the consumer: what counts is the new one below.
    await jsm.consumers.delete('VIGIL_JOBS', 'runner').catch((err: unknown) => {
      if (!/directory not empty/.test((err as Error).message)) throw err;
    });
    // Re-created by the runner, delivering all 50 requests again; settled once every one is acked.
    await waitFor(
      async () => {
        const info = await jsm.consumers.info('VIGIL_JOBS', 'runner').catch(() => undefined);
        return (
          info &&
          info.created !== created &&
          info.delivered.consumer_seq >= 50 &&
          info.num_pending === 0 &&
          info.num_ack_pending === 0
        );
      },
      { timeout: 20_000, interval: 100, message: 'the re-created consumer delivered and acked all 50 again' },
    );
    expect(ids.map((id) => g.brokerTest.get(id))).toEqual(ids.map(() => 1));
    expect(await succeeded()).toBe(50);
  }, 45_000);
});
