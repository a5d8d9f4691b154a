import { collectEvents, installInMemoryTracing, startNats, type TestServer, waitFor } from '@vigil/shared/testing';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobsDir, requestRun, startRunner } from './helpers.js';

// Its own file: the in-memory tracer is process-wide (OTel globals) and turns tracing on for every run.
const tracing = installInMemoryTracing('reports-test');

describe('run spans (tracing on)', () => {
  let nats: TestServer;
  let nc: NatsConnection;
  let service: Awaited<ReturnType<typeof startRunner>>;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    const { file } = jobsDir(
      `jobs:
  traced-ok:
    handler: module:./half.mjs
    targets: [a]
  traced-partial:
    handler: module:./half.mjs
    targets: [a, b]
  traced-slow:
    handler: module:./slow.mjs
    concurrency: allow
  traced-failed:
    handler: command
    retries: { max: 0 }
    command: { run: [node, -e, "console.error('disk full'); process.exit(3)"] }
`,
      {
        'slow.mjs': 'export default { async run() { await new Promise((r) => setTimeout(r, 700)); } };',
        'half.mjs': `export default { async run(ctx) {
          return { targets: ctx.targets.map((t) => ({ target: t, ok: t === 'a', error: t === 'a' ? undefined : new Error('b is down') })) };
        } };`,
      },
    );
    service = await startRunner(nats.url, file);
  });

  afterAll(async () => {
    await service?.stop();
    await nc?.close();
    await nats?.stop();
    await tracing.shutdown();
  });

  it('marks the span of a failed or partial run as an error with its message; a succeeded one is not', async () => {
    const events = collectEvents(nc, 'job.*.>');
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    for (const job of ['traced-ok', 'traced-partial', 'traced-failed']) {
      await requestRun(nc, job, `${job}-1`, { headers: { traceparent } });
    }
    await events.waitFor('job.succeeded.traced-ok');
    await events.waitFor('job.partial.traced-partial');
    await events.waitFor('job.failed.traced-failed');
    const span = (job: string) => waitFor(() => tracing.spans().find((s) => s.name === `run ${job}`));
    const ok = await span('traced-ok');
    const partial = await span('traced-partial');
    const failed = await span('traced-failed');
    expect(ok.status.code).not.toBe(2);
    expect(partial.status).toEqual({ code: 2, message: 'partial: 1 of 2 targets failed (b: b is down)' });
    expect(partial.attributes['vigil.status']).toBe('partial');
    expect(failed.status.code).toBe(2);
    expect(failed.status.message).toContain('exited with 3: disk full');
    expect(failed.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  });

  it("each long run's job.started carries its own request's trace, not another run's", async () => {
    const events = collectEvents(nc, 'job.started.traced-slow');
    const traces = ['11111111111111111111111111111111', '22222222222222222222222222222222'];
    await Promise.all(
      traces.map((t, i) =>
        requestRun(nc, 'traced-slow', `slow-${i}`, { headers: { traceparent: `00-${t}-00f067aa0ba902b7-01` } }),
      ),
    );
    const started = await events.waitFor('job.started.traced-slow', 2, 10_000);
    for (const e of started) {
      const i = Number(String(e.event.data.runId).slice(-1));
      expect(e.headers.traceparent?.split('-')[1]).toBe(traces[i]);
    }
  });
});
