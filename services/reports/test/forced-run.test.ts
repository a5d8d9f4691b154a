import { makeEnvelope } from '@vigil/shared';
import { collectEvents, startNats, type TestServer } from '@vigil/shared/testing';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobsDir, requestRun, startRunner } from './helpers.js';

// The stuck alert's re-run is `vigil trigger <job> --force`: "starts it even while the stuck run still holds the
// job". Runners took one run of a forbid job at a time, so the forced run waited behind the hung one instead.
let nats: TestServer;
let nc: NatsConnection;
let service: Awaited<ReturnType<typeof startRunner>> | undefined;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  const { file } = jobsDir(
    `jobs:
  hung:
    handler: module:./hang.mjs
    retries: { max: 0 }
`,
    {
      'hang.mjs': `export default { async run(ctx) {
    await new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
  } };`,
    },
  );
  service = await startRunner(nats.url, file, { LOG_LEVEL: 'error', RUNNER_STARTED_AFTER: '50ms' });
});

afterAll(async () => {
  await service?.stop();
  await nc?.close();
  await nats?.stop();
});

const cancel = (runId: string) =>
  nc
    .jetstream()
    .publish(
      'job.cancel.hung',
      new TextEncoder().encode(
        JSON.stringify(makeEnvelope('scheduler', 'job.cancel.hung', { runId, job: 'hung', reason: 'test over' })),
      ),
    );

describe('a forced run of a forbid job', () => {
  it('starts while the stuck run still holds the job; a plain one waits behind it', async () => {
    const started = collectEvents(nc, 'job.started.hung');
    await requestRun(nc, 'hung', 'stuck-1');
    await started.waitFor('job.started', 1, 10_000);
    await requestRun(nc, 'hung', 'plain-2');
    await requestRun(nc, 'hung', 'forced-3', { force: true });
    const [, second] = await started.waitFor('job.started', 2, 10_000);
    expect(second.event.data.runId).toBe('forced-3');
    expect(started.of('job.started').map((e) => e.event.data.runId)).not.toContain('plain-2');
    for (const id of ['stuck-1', 'forced-3', 'plain-2']) await cancel(id);
    started.stop();
  });
});
