import { ManualClock } from '@vigil/shared';
import { type InstanceWithBreaker, startInstanceWithBreaker, waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';
import { type NotifierService, replica, rounds, startTwoReplicas } from './watchdog-rounds.js';

// Every replica of a service has its own breaker per dependency: the breaker is open as long as one of them has it
// open, so the first replica's close must not say ✅ RESOLVED while another keeps failing.
const MIN = 60_000;

/** `breaker.<verb>.<service>.<name>` as the shared breaker publishes it, from the instance `instance`. */
function breakerEvent(
  h: Harness,
  verb: 'opened' | 'closed',
  service: string,
  name: string,
  at: Date,
  instance: string,
) {
  const state = verb === 'opened' ? 'open' : verb;
  const data: Record<string, unknown> = { service, name, instance, state, at: at.toISOString(), failures: 5 };
  if (verb === 'opened') {
    data.error = { type: 'HttpError', message: 'HTTP 503 Service Unavailable', class: 'transient' };
  }
  const token = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '_');
  return h.bus.publish(`breaker.${verb}.${token(service)}.${token(name)}`, data, { time: at });
}

const about = (h: Harness, breaker: string) =>
  h.sink.messages.filter((m) => m.subject.includes(`circuit breaker ${breaker} `));
const resolved = (h: Harness, breaker: string) => about(h, breaker).filter((m) => m.subject.startsWith('✅ RESOLVED'));

const startInstance = (h: Harness, name: string, resetTimeoutMs = 200) =>
  startInstanceWithBreaker({
    natsUrl: h.nats.url,
    service: 'webhooks',
    breakerName: name,
    publishEvents: true,
    resetTimeoutMs,
  });

/** Its dependency answers again: the breaker half-opens, lets a probe through and closes. */
async function recover(i: InstanceWithBreaker): Promise<void> {
  i.upstream.up = true;
  await waitFor(() => i.breaker.state === 'half-open', { message: 'half-open' });
  await i.breaker.fire();
  expect(i.breaker.state).toBe('closed');
}

async function settled(h: Harness): Promise<void> {
  await h.idle('VIGIL_OPS', 'notifier-breaker-opened');
  await h.idle('VIGIL_OPS', 'notifier-breaker-closed');
  await new Promise((r) => setTimeout(r, 300));
}

describe('a breaker open on two instances of a service: RESOLVED only once both closed (real NATS, SMTP sink)', () => {
  let h: Harness;
  const instances: InstanceWithBreaker[] = [];
  beforeAll(async () => {
    h = await startHarness({ WATCHDOG_DOWN_AFTER: 'off' });
  });
  afterAll(async () => {
    for (const i of instances) await i.handle.stop().catch(() => undefined);
    await h?.stop();
  });

  it('A and B open; A closes → no notice; B closes → one RESOLVED, from the first opening', async () => {
    const b = 'webhooks/https://two.example';
    await breakerEvent(h, 'opened', 'webhooks', 'https://two.example', new Date(Date.now() - 10 * MIN), 'host-a-1');
    await breakerEvent(h, 'opened', 'webhooks', 'https://two.example', new Date(Date.now() - 8 * MIN), 'host-b-2');
    await waitFor(() => about(h, b).length === 2, { message: 'opened alerts' });

    await breakerEvent(h, 'closed', 'webhooks', 'https://two.example', new Date(Date.now() - 5 * MIN), 'host-a-1');
    await settled(h);
    expect(resolved(h, b)).toEqual([]);

    await breakerEvent(h, 'closed', 'webhooks', 'https://two.example', new Date(), 'host-b-2');
    await waitFor(() => resolved(h, b).length === 1, { message: 'closed notice' });
    const notice = resolved(h, b)[0];
    expect(notice.subject).toBe(`✅ RESOLVED: circuit breaker ${b} closed again (open for 10 min)`);
    expect(notice.text).toMatch(/Instances:\s+opened on 2 instances: host-a-1, host-b-2/);

    // a redelivered or repeated close changes nothing
    await breakerEvent(h, 'closed', 'webhooks', 'https://two.example', new Date(), 'host-a-1');
    await settled(h);
    expect(resolved(h, b).length).toBe(1);
  });

  it("a close older than that instance's own latest opening does not take it out (events out of order)", async () => {
    const b = 'webhooks/https://order.example';
    const t = Date.now() - 10 * MIN;
    await breakerEvent(h, 'opened', 'webhooks', 'https://order.example', new Date(t), 'host-a-1');
    await breakerEvent(h, 'opened', 'webhooks', 'https://order.example', new Date(t + MIN), 'host-b-2');
    await breakerEvent(h, 'opened', 'webhooks', 'https://order.example', new Date(t + 4 * MIN), 'host-b-2');
    await waitFor(() => about(h, b).length === 3, { message: 'opened alerts' });
    await breakerEvent(h, 'closed', 'webhooks', 'https://order.example', new Date(t + 2 * MIN), 'host-a-1');
    await breakerEvent(h, 'closed', 'webhooks', 'https://order.example', new Date(t + 3 * MIN), 'host-b-2'); // older
    await settled(h);
    expect(resolved(h, b)).toEqual([]);
    await breakerEvent(h, 'closed', 'webhooks', 'https://order.example', new Date(t + 5 * MIN), 'host-b-2');
    await waitFor(() => resolved(h, b).length === 1, { message: 'closed notice' });
    await settled(h);
    expect(resolved(h, b).length).toBe(1);
  });

  it('real service instances: their breaker events carry their instance id', async () => {
    const name = 'https://real.example';
    const b = `webhooks/${name}`;
    const [one, two] = [await startInstance(h, name), await startInstance(h, name)];
    instances.push(one, two);
    await one.breaker.fire().catch(() => undefined);
    await two.breaker.fire().catch(() => undefined);
    const opened = await h.events.waitFor('breaker.opened.webhooks.https___real_example', 2);
    expect(opened.map((e) => e.event.data.instance).sort()).toEqual([one.instance, two.instance].sort());
    await waitFor(() => about(h, b).length === 2, { message: 'opened alerts' });

    // the first instance's dependency answers again: its breaker closes, the other one's stays open
    await recover(one);
    await h.events.waitFor('breaker.closed.webhooks.https___real_example', 1);
    await settled(h);
    expect(resolved(h, b)).toEqual([]);

    await recover(two);
    await waitFor(() => resolved(h, b).length === 1, { message: 'closed notice' });
    await settled(h);
    expect(resolved(h, b).length).toBe(1);
  });
});

describe('one instance closes its breaker, the other is killed with it open: the watchdog rounds end the opening', () => {
  const clock = new ManualClock(Date.now());
  const a = replica();
  const b = replica();
  let h: Harness;
  let second: NotifierService;
  const instances: InstanceWithBreaker[] = [];
  beforeAll(async () => {
    ({ h, second } = await startTwoReplicas(clock, a, b));
  });
  afterAll(async () => {
    for (const i of instances) await i.handle.stop().catch(() => undefined);
    await second?.stop();
    await h?.stop();
  });

  it('no RESOLVED at the close; one RESOLVED once no instance reports it open', async () => {
    const name = 'https://killed.example';
    const breaker = `webhooks/${name}`;
    const [one, two] = [await startInstance(h, name), await startInstance(h, name, 60_000)];
    instances.push(one, two);
    await one.breaker.fire().catch(() => undefined);
    await two.breaker.fire().catch(() => undefined);
    await waitFor(() => about(h, breaker).length === 2, { message: 'opened alerts' });

    await recover(one);
    await h.events.waitFor('breaker.closed.webhooks.https___killed_example', 1);
    await settled(h);
    // the other instance still lists it open: the rounds leave it alone
    await rounds(clock, [a, b], 2);
    expect(resolved(h, breaker)).toEqual([]);

    // gone without its close; its successor has not called that destination yet (no such breaker)
    await two.handle.stop();
    instances.push(await startInstance(h, 'https://elsewhere.example'));
    await rounds(clock, [a, b], 3);
    await waitFor(() => resolved(h, breaker).length === 1, { message: 'resolved notice' });
    const notice = resolved(h, breaker)[0];
    expect(notice.subject).toContain(`circuit breaker ${breaker} no longer open on any instance`);
    expect(notice.text).toContain('Not every instance that had it open sent breaker.closed');
    expect(notice.text).toMatch(/Instances:\s+opened on 2 instances: /);
    for (const i of [one, two]) expect(notice.text).toContain(i.instance);
    await rounds(clock, [a, b], 1);
    await settled(h);
    expect(resolved(h, breaker)).toHaveLength(1);
  }, 120_000);
});
