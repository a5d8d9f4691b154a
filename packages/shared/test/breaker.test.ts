import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createBreaker,
  createLogger,
  createRegistry,
  ensureStreams,
  ErrorCode,
  EventBus,
  PermanentError,
  TransientError,
  ValidationError,
} from '@vigil/shared';
import { collectEvents, startNats, type TestServer } from '@vigil/shared/testing';
import { BreakerEventSchema } from '../src/events/ops.js';
import { breakersNotClosed, setRegistryInstance } from '../src/resilience/breaker.js';

let nats: TestServer;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

/** Publishes like the EventBus does (JSON on NATS), without depending on it. */
const natsPublisher = () => ({
  publish: (subject: string, data: Record<string, unknown>) => nc.publish(subject, JSON.stringify(data)),
});

async function gaugeValue(registry: ReturnType<typeof createRegistry>, name: string): Promise<number | undefined> {
  const metric = await registry.getSingleMetric('vigil_breaker_state')?.get();
  return metric?.values.find((v) => v.labels.name === name)?.value;
}

describe('createBreaker', () => {
  it('opens after 5 consecutive failures, rejects fast, half-opens, closes on success; events on NATS', async () => {
    const events = collectEvents(nc, 'breaker.>');
    const registry = createRegistry();
    let upstreamUp = false;
    let calls = 0;
    const breaker = createBreaker(
      'smtp',
      async (x: number) => {
        calls++;
        if (!upstreamUp) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
        return x * 2;
      },
      { service: 'notifier', bus: natsPublisher(), registry, resetTimeoutMs: 300 },
    );

    for (let i = 0; i < 4; i++) await expect(breaker.fire(1)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(breaker.state).toBe('closed');
    await expect(breaker.fire(1)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(breaker.state).toBe('open');
    expect(await gaugeValue(registry, 'smtp')).toBe(2);

    // Open: fails fast without calling the upstream, with a retryable typed error.
    const t0 = Date.now();
    const rejected = await breaker.fire(1).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(50);
    expect(rejected).toBeInstanceOf(TransientError);
    expect(rejected).toMatchObject({ code: ErrorCode.BREAKER_OPEN });
    expect(calls).toBe(5);

    const [opened] = await events.waitFor('breaker.opened.notifier.smtp');
    expect(opened.event).toMatchObject({ service: 'notifier', name: 'smtp', state: 'open', failures: 5 });
    expect(Number.isNaN(Date.parse(opened.event.at))).toBe(false);

    await events.waitFor('breaker.half-open.notifier.smtp');
    expect(breaker.state).toBe('half-open');
    expect(await gaugeValue(registry, 'smtp')).toBe(1);

    upstreamUp = true;
    expect(await breaker.fire(21)).toBe(42);
    expect(breaker.state).toBe('closed');
    const [closed] = await events.waitFor('breaker.closed.notifier.smtp');
    expect(closed.event).toMatchObject({ service: 'notifier', name: 'smtp', state: 'closed' });
    expect(await gaugeValue(registry, 'smtp')).toBe(0);
    expect(events.events.map((e) => e.subject)).toEqual([
      'breaker.opened.notifier.smtp',
      'breaker.half-open.notifier.smtp',
      'breaker.closed.notifier.smtp',
    ]);
    events.stop();
    breaker.shutdown();
  });

  it('a failed half-open probe re-opens it; only one probe goes through', async () => {
    let calls = 0;
    let release: () => void = () => {};
    const breaker = createBreaker(
      'api',
      async () => {
        calls++;
        await new Promise<void>((r) => {
          release = r;
        });
        throw new TransientError('still down');
      },
      { service: 'reports', failureThreshold: 1, resetTimeoutMs: 100 },
    );
    const first = breaker.fire();
    release();
    await expect(first).rejects.toThrow('still down');
    expect(breaker.state).toBe('open');
    await new Promise<void>((resolve) => breaker.on('halfOpen', resolve));
    const probe = breaker.fire();
    await expect(breaker.fire()).rejects.toMatchObject({ code: ErrorCode.BREAKER_OPEN });
    release();
    await expect(probe).rejects.toThrow('still down');
    expect(breaker.state).toBe('open');
    expect(calls).toBe(2);
    breaker.shutdown();
  });

  it('validation and permanent errors do not count; a success resets the count', async () => {
    let mode: 'transient' | 'permanent' | 'validation' | 'ok' = 'permanent';
    const breaker = createBreaker(
      'webhook',
      async () => {
        if (mode === 'transient') throw new TransientError('503');
        if (mode === 'permanent') throw new PermanentError('404');
        if (mode === 'validation') throw new ValidationError('bad');
        return 'ok';
      },
      { service: 'webhooks' },
    );
    for (let i = 0; i < 10; i++) await expect(breaker.fire()).rejects.toBeInstanceOf(PermanentError);
    mode = 'validation';
    for (let i = 0; i < 10; i++) await expect(breaker.fire()).rejects.toBeInstanceOf(ValidationError);
    expect(breaker.state).toBe('closed');
    mode = 'transient';
    for (let i = 0; i < 4; i++) await expect(breaker.fire()).rejects.toBeInstanceOf(TransientError);
    mode = 'ok';
    await breaker.fire();
    mode = 'transient';
    for (let i = 0; i < 4; i++) await expect(breaker.fire()).rejects.toBeInstanceOf(TransientError);
    expect(breaker.state).toBe('closed');
    await expect(breaker.fire()).rejects.toBeInstanceOf(TransientError);
    expect(breaker.state).toBe('open');
    breaker.shutdown();
  });

  it('is proven by its first success (or an error that does not count), not by being closed', async () => {
    const registry = createRegistry();
    let mode: 'down' | 'permanent' | 'ok' = 'down';
    const make = (name: string) =>
      createBreaker(
        name,
        async () => {
          if (mode === 'down') throw new TransientError('ENOENT: secrets file missing');
          if (mode === 'permanent') throw new PermanentError('secret not found');
          return 'ok';
        },
        { service: 'secrets', registry, failureThreshold: 3, resetTimeoutMs: 100 },
      );
    // created at an instance's start while its dependency is down: closed, but nothing has gone through it
    const provider = make('secrets-provider');
    const other = make('other');
    expect(provider).toMatchObject({ state: 'closed', proven: false });
    const listed = () => breakersNotClosed(registry);
    expect(listed()).toEqual([
      { name: 'other', state: 'closed', proven: false, since: expect.any(String) },
      { name: 'secrets-provider', state: 'closed', proven: false, since: expect.any(String) },
    ]);
    // failures below the threshold: still closed, still unproven
    for (let i = 0; i < 2; i++) await expect(provider.fire()).rejects.toThrow('ENOENT');
    expect(provider).toMatchObject({ state: 'closed', proven: false });
    // opened: listed as open (with no `proven`); half-open still unproven; the probe that closes it proves it
    await expect(provider.fire()).rejects.toThrow('ENOENT');
    expect(listed().find((b) => b.name === 'secrets-provider')).toEqual({
      name: 'secrets-provider',
      state: 'open',
      since: expect.any(String),
      openSince: expect.any(String),
    });
    await new Promise<void>((resolve) => provider.on('halfOpen', resolve));
    expect(provider).toMatchObject({ state: 'half-open', proven: false });
    mode = 'ok';
    await provider.fire();
    expect(provider).toMatchObject({ state: 'closed', proven: true });
    // an error that does not count means the dependency answered: proven too, and it stays proven
    mode = 'permanent';
    await expect(other.fire()).rejects.toBeInstanceOf(PermanentError);
    expect(other).toMatchObject({ state: 'closed', proven: true });
    mode = 'down';
    await expect(other.fire()).rejects.toThrow('ENOENT');
    expect(other.proven).toBe(true);
    expect(listed()).toEqual([]);
    provider.shutdown();
    other.shutdown();
  });

  it("names its service instance in its events: the one given, else the registry's (runService), else none", async () => {
    // every replica has its own breaker: a reader tells one replica's close from another's open breaker by it
    const events = collectEvents(nc, 'breaker.opened.webhooks.>');
    const registry = createRegistry();
    setRegistryInstance(registry, 'host-1-ab12');
    const make = (name: string, opts: { instance?: string; registry?: typeof registry }) =>
      createBreaker(name, async () => Promise.reject(new TransientError('down')), {
        service: 'webhooks',
        bus: natsPublisher(),
        failureThreshold: 1,
        ...opts,
      });
    const given = make('given', { instance: 'host-2-cd34', registry });
    const byRegistry = make('by-registry', { registry });
    const none = make('none', {});
    for (const b of [given, byRegistry, none]) await b.fire().catch(() => undefined);
    const opened = await events.waitFor('breaker.opened.webhooks', 3);
    const instanceOf = (name: string) => opened.find((e) => e.event.name === name)?.event;
    expect(instanceOf('given')?.instance).toBe('host-2-cd34');
    expect(instanceOf('by-registry')?.instance).toBe('host-1-ab12');
    expect(instanceOf('none')).not.toHaveProperty('instance');
    for (const e of opened) expect(BreakerEventSchema.safeParse(e.event).success).toBe(true);
    events.stop();
    for (const b of [given, byRegistry, none]) b.shutdown();
  });

  it('publishes valid CloudEvents through the real EventBus on JetStream', async () => {
    await ensureStreams(await nc.jetstreamManager(), { only: ['VIGIL_OPS'] });
    const bus = new EventBus(nc, { service: 'reports', logger: createLogger({ service: 'reports', level: 'silent' }) });
    const events = collectEvents(nc, 'breaker.>');
    let up = false;
    const breaker = createBreaker(
      'github',
      async () => {
        if (!up) throw new TransientError('503 from upstream');
        return 'ok';
      },
      { service: 'reports', bus, failureThreshold: 2, resetTimeoutMs: 150 },
    );
    await breaker.fire().catch(() => {});
    await breaker.fire().catch(() => {});
    const [opened] = await events.waitFor('breaker.opened.reports.github');
    expect(opened.event).toMatchObject({
      specversion: '1.0',
      source: 'vigil/reports',
      data: { service: 'reports', name: 'github', state: 'open', failures: 2, error: { class: 'transient' } },
    });
    await events.waitFor('breaker.half-open.reports.github');
    up = true;
    await breaker.fire();
    const [closed] = await events.waitFor('breaker.closed.reports.github');
    expect(closed.event.data).toMatchObject({ state: 'closed' });
    events.stop();
    breaker.shutdown();
  });
});
