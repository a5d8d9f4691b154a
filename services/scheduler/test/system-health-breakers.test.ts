import type { ServiceHandle } from '@vigil/shared';
import { startInstanceWithBreaker, waitFor } from '@vigil/shared/testing';
import { connect, JSONCodec, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

// A manual-only job: nothing runs, so breakers and readiness are the only things that can make health degraded.
const JOBS = `jobs:
  manual:
    handler: health.daily
`;
const ORIGIN = 'http-127.0.0.1:19999';
// a loaded machine can take longer than the reset timeout to answer: open or already half-open (still listed)
const NOT_CLOSED = expect.stringMatching(/^(open|half-open)$/);
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const breakerProblem = (id: string) =>
  expect.stringMatching(new RegExp(`^breaker reports/${literal(ORIGIN)} (open|half-open) on ${literal(id)}$`));

let h: Harness;
const handles: ServiceHandle[] = [];
let oldWebhooks: NatsConnection;

/** A real service instance (same NATS) whose breaker publishes its events like the real ones. */
async function instance(service: string, resetTimeoutMs = 60_000) {
  const started = await startInstanceWithBreaker({
    natsUrl: h.env.NATS_URL,
    service,
    breakerName: ORIGIN,
    resetTimeoutMs,
    publishEvents: true,
  });
  handles.push(started.handle);
  return { ...started, id: started.instance };
}

type Health = {
  ok: boolean;
  problems: string[];
  services: { service: string; ready: boolean; instances: number }[];
  openBreakers: { service: string; name: string; state: string; since: string; instance?: string }[];
};
const health = async (): Promise<Health> => (await h.api('GET', '/api/system/health')).body;
/**
 * Health once every service, and each of the `reports` instances, answered in time (on a loaded machine an answer
 * can come after the collection window).
 */
const settled = (reports = 1): Promise<Health> =>
  waitFor(async () => {
    const hl = await health();
    const all = hl.services.every((s) => s.ready);
    return all && hl.services.find((s) => s.service === 'reports')?.instances === reports ? hl : undefined;
  });

beforeAll(async () => {
  h = await startHarness(JOBS, '2026-03-01T10:00:00Z');
  for (const s of ['notifier', 'secrets']) await instance(s);
  // webhooks of a version whose health answer has no breaker list: its breakers come from breaker events
  const jc = JSONCodec();
  oldWebhooks = await connect({ servers: h.env.NATS_URL });
  const answer = { service: 'webhooks', instance: 'webhooks-old', version: '0.9.0', ready: true, phase: 'running' };
  oldWebhooks.subscribe('vigil.health.webhooks.each', {
    callback: (_e, m) => m.respond(jc.encode({ ...answer, checks: {} })),
  });
  await oldWebhooks.flush();
});
afterAll(async () => {
  for (const s of handles.reverse()) await s.stop();
  await oldWebhooks?.close();
  await h?.stop();
});

describe('system health lists the breakers of the instances alive now', () => {
  it('lists an open breaker of a live instance, and no more once that instance was replaced', async () => {
    const a = await instance('reports', 2_000);
    expect(await settled()).toMatchObject({ ok: true, problems: [], openBreakers: [] });

    await expect(a.breaker.fire()).rejects.toThrow('ECONNREFUSED');
    let hl = await settled();
    expect(hl.openBreakers).toEqual([
      {
        service: 'reports',
        name: ORIGIN,
        state: NOT_CLOSED,
        since: expect.any(String),
        openSince: expect.any(String),
        instance: a.id,
      },
    ]);
    expect(hl.ok).toBe(false);
    expect(hl.problems).toEqual([breakerProblem(a.id)]);

    // the breaker goes half-open and its process is replaced: the last event stays "half-open" in VIGIL_OPS...
    await waitFor(() => a.breaker.state === 'half-open');
    hl = await settled();
    expect(hl.openBreakers).toMatchObject([{ name: ORIGIN, state: 'half-open', instance: a.id }]);
    await a.handle.stop();
    const b = await instance('reports', 2_000);
    const jsm = await h.nc.jetstreamManager();
    const last = await jsm.streams.getMessage('VIGIL_OPS', {
      last_by_subj: 'breaker.half-open.reports.http-127_0_0_1_19999',
    });
    expect(last.seq).toBeGreaterThan(0);
    // ...but the live instance has it closed: health is ok again
    expect(b.breaker.state).toBe('closed');
    hl = await settled();
    expect(hl).toMatchObject({ ok: true, problems: [], openBreakers: [] });
    expect(hl.services.find((s) => s.service === 'reports')).toMatchObject({ ready: true, instances: 1 });
  });

  it('two instances, one with an open breaker: listed once with its instance, gone when it closes', async () => {
    const [c, d] = [await instance('reports', 2_000), await instance('reports', 2_000)];
    await expect(d.breaker.fire()).rejects.toThrow('ECONNREFUSED');
    // b, from the test above, is still running: three instances
    let hl = await settled(3);
    expect(hl.openBreakers).toEqual([
      {
        service: 'reports',
        name: ORIGIN,
        state: NOT_CLOSED,
        since: expect.any(String),
        openSince: expect.any(String),
        instance: d.id,
      },
    ]);
    expect(hl.problems).toEqual([breakerProblem(d.id)]);
    expect(c.breaker.state).toBe('closed');

    // the next call after the reset timeout is the probe: it succeeds and the breaker closes
    await waitFor(() => d.breaker.state === 'half-open');
    d.upstream.up = true;
    await d.breaker.fire();
    hl = await settled(3);
    expect(hl).toMatchObject({ ok: true, problems: [], openBreakers: [] });
  });

  it('falls back on breaker events only for instances whose answer has no breaker list', async () => {
    const at = new Date().toISOString();
    const data = { service: 'webhooks', name: 'https://hooks.example.com:8443', state: 'open', at };
    await h.bus.publish('breaker.opened.webhooks.https___hooks_example_com_8443', data);
    const listed = await waitFor(async () => {
      const hl = await settled(3);
      return hl.openBreakers.length > 0 ? hl : undefined;
    });
    // the real name from the event's data, not its subject token; no instance (events do not say which)
    expect(listed.openBreakers).toEqual([
      { service: 'webhooks', name: 'https://hooks.example.com:8443', state: 'open', since: expect.any(String) },
    ]);
    expect(listed.problems).toEqual(['breaker webhooks/https://hooks.example.com:8443 open']);

    await h.bus.publish('breaker.closed.webhooks.https___hooks_example_com_8443', { ...data, state: 'closed' });
    await waitFor(async () => (await settled(3)).ok);
  });
});
