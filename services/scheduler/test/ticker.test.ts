import { type JobDefinition, ManualClock } from '@vigil/shared';
import { describe, expect, it } from 'vitest';
import type { SchedulerContext } from '../src/context.js';
import type { SlotDispatcher } from '../src/slot-dispatcher.js';
import { Ticker } from '../src/ticker.js';

const at = (s: string) => new Date(s).getTime();
const iso = (ms: number) => new Date(ms).toISOString();
const quiet = { info() {}, warn() {}, error() {}, debug() {} };

/** What the ticker reads of the scheduler: time, a quiet log, one job last handled at midnight, the defaults. */
const contextOn = (clock: ManualClock) =>
  ({
    clock,
    log: quiet,
    jobStates: { get: () => ({ paused: false, lastSlotAt: at('2026-01-01T00:00:00Z') }) },
    defaults: { startDeadlineMs: 120_000, timeoutMs: 3_600_000, slotGraceMs: 1_500 },
  }) as unknown as SchedulerContext;

/**
 * Catch-up covers the slots up to the instant it started; the ticker must go on from exactly there. Slots
 * that fall while catch-up is still publishing (real time moves on; here each dispatch takes 30 s) are then
 * dispatched at once, late, instead of being neither sent nor reported. Unit level: on a ManualClock time
 * only moves when told, so only a dispatcher that moves it can make catch-up take time.
 */
describe('the ticker starts where catch-up stopped', () => {
  it('slots falling while catch-up runs are dispatched by the ticker, each slot once', async () => {
    const clock = new ManualClock(at('2026-01-01T00:05:30Z'));
    const job = { name: 'tick', every: 60_000, handler: 'health.daily', timezone: 'UTC' } as unknown as JobDefinition;
    const jobs = { tick: job };
    const ctx = contextOn(clock);
    const dispatched: { slot: string; kind: string }[] = [];
    const dispatcher = {
      async dispatch(_def: JobDefinition, slot: number, kind: string) {
        dispatched.push({ slot: iso(slot), kind });
        if (kind !== 'schedule') await clock.set(clock.now() + 30_000);
      },
    } as unknown as SlotDispatcher;
    const ticker = new Ticker(ctx, dispatcher);

    const coveredTo = await ticker.catchUp(jobs);
    expect(coveredTo).toBe(at('2026-01-01T00:05:30Z') - 1);
    expect(clock.now()).toBe(at('2026-01-01T00:08:00Z'));
    ticker.sync(jobs, coveredTo);
    await clock.advance(0);
    await ticker.stop();

    expect(dispatched.filter((d) => d.kind === 'missed').map((d) => d.slot)).toEqual([
      '2026-01-01T00:01:00.000Z',
      '2026-01-01T00:02:00.000Z',
      '2026-01-01T00:03:00.000Z',
      '2026-01-01T00:04:00.000Z',
    ]);
    // 30 s old at the start, inside its 2-minute start deadline: late, not missed
    expect(dispatched.filter((d) => d.kind === 'catch-up').map((d) => d.slot)).toEqual(['2026-01-01T00:05:00.000Z']);
    expect(dispatched.filter((d) => d.kind === 'schedule').map((d) => d.slot)).toEqual([
      '2026-01-01T00:06:00.000Z',
      '2026-01-01T00:07:00.000Z',
      '2026-01-01T00:08:00.000Z',
    ]);
  });
});

describe('stopping the ticker', () => {
  it('waits for a slot that fired just before the stop to be published (NATS drains only after it)', async () => {
    const clock = new ManualClock(at('2026-01-01T00:00:30Z'));
    const job = { name: 'tick', every: 60_000, handler: 'health.daily', timezone: 'UTC' } as unknown as JobDefinition;
    const ctx = contextOn(clock);
    let publish!: () => void;
    const published: string[] = [];
    const dispatcher = {
      async dispatch(_def: JobDefinition, slot: number) {
        await new Promise<void>((resolve) => {
          publish = resolve;
        });
        published.push(iso(slot));
      },
    } as unknown as SlotDispatcher;
    const ticker = new Ticker(ctx, dispatcher);
    ticker.sync({ tick: job }, clock.now());
    await clock.set(at('2026-01-01T00:01:00Z')); // the slot fires; its publish is under way
    let stopped = false;
    const stopping = ticker.stop().then(() => {
      stopped = true;
    });
    await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false);
    publish();
    await stopping;
    expect(published).toEqual(['2026-01-01T00:01:00.000Z']);
    // and nothing fires after the stop
    await clock.set(at('2026-01-01T00:03:00Z'));
    expect(published).toHaveLength(1);
  });
});

/**
 * NATS away across several slots and past their start deadlines: once it is back, the slots are settled the
 * way catch-up settles slots missed while no scheduler ran. Unit level: the dispatcher fails while "down".
 */
describe('slots that could not be requested before their start deadline', () => {
  async function outage(catchUp?: number) {
    const clock = new ManualClock(at('2026-01-01T00:00:30Z'));
    const job = {
      name: 'tick',
      every: 60_000,
      handler: 'health.daily',
      timezone: 'UTC',
      startDeadline: 30_000,
      catchUp,
    } as unknown as JobDefinition;
    const net = { down: true };
    const dispatched: { slot: string; kind: string; reason?: string }[] = [];
    const dispatcher = {
      async dispatch(_def: JobDefinition, slot: number, kind: string, reason?: string) {
        if (net.down) throw Object.assign(new Error('TIMEOUT'), { code: 'TIMEOUT' });
        dispatched.push({ slot: iso(slot), kind, reason });
      },
    } as unknown as SlotDispatcher;
    const ticker = new Ticker(contextOn(clock), dispatcher);
    ticker.sync({ tick: job }, clock.now());
    // slots 00:01, 00:02, 00:03 fall while NATS is away; the last deadline passes at 00:03:30
    await clock.set(at('2026-01-01T00:03:40Z'));
    expect(dispatched).toEqual([]);
    net.down = false;
    await clock.set(at('2026-01-01T00:03:59Z'));
    await ticker.stop();
    return dispatched.sort((a, b) => a.slot.localeCompare(b.slot));
  }

  it('without catchUp: each is reported missed once, never requested late', async () => {
    const dispatched = await outage();
    expect(dispatched.map((d) => [d.slot, d.kind])).toEqual([
      ['2026-01-01T00:01:00.000Z', 'missed'],
      ['2026-01-01T00:02:00.000Z', 'missed'],
      ['2026-01-01T00:03:00.000Z', 'missed'],
    ]);
    for (const d of dispatched)
      expect(d.reason).toMatch(
        /^could not be requested before its start deadline \(30s\): NATS was unavailable from 2026-01-01T00:01:00\.000Z until 2026-01-01T00:03:\d\d\.\d{3}Z \(2 min \d+ s\)$/,
      );
  });

  it('with catchUp: the newest within the window runs once as catch-up, the others are reported missed', async () => {
    const dispatched = await outage(150_000);
    expect(dispatched.map((d) => [d.slot, d.kind])).toEqual([
      ['2026-01-01T00:01:00.000Z', 'missed'],
      ['2026-01-01T00:02:00.000Z', 'missed'],
      ['2026-01-01T00:03:00.000Z', 'catch-up'],
    ]);
    expect(dispatched[0].reason).not.toMatch(/instead/); // older than the window (2m30s)
    expect(dispatched[1].reason).toMatch(
      /NATS was unavailable from .* until .*; a newer slot runs as catch-up instead$/,
    );
    expect(dispatched[2].reason).toMatch(
      /^not requested at its slot: NATS was unavailable from 2026-01-01T00:01:00\.000Z until .*; 2 other slots of the outage reported missed$/,
    );
  });
});

describe('a NATS outage settled in one go', () => {
  it('one plan with one window, resumed with the same facts when NATS drops again midway', async () => {
    const clock = new ManualClock(at('2026-01-01T00:00:30Z'));
    const job = {
      name: 'tick',
      every: 60_000,
      handler: 'health.daily',
      timezone: 'UTC',
      startDeadline: 30_000,
      catchUp: 150_000,
    } as unknown as JobDefinition;
    const net = { down: true, failNext: 0 };
    const dispatched: { slot: string; kind: string; reason?: string }[] = [];
    const dispatcher = {
      async dispatch(_def: JobDefinition, slot: number, kind: string, reason?: string) {
        if (net.down) throw Object.assign(new Error('TIMEOUT'), { code: 'TIMEOUT' });
        if (dispatched.length === 1 && net.failNext-- > 0)
          throw Object.assign(new Error('TIMEOUT'), { code: 'TIMEOUT' });
        dispatched.push({ slot: iso(slot), kind, reason });
      },
    } as unknown as SlotDispatcher;
    const ticker = new Ticker(contextOn(clock), dispatcher);
    ticker.sync({ tick: job }, clock.now());
    await clock.set(at('2026-01-01T00:03:40Z'));
    net.down = false;
    net.failNext = 1; // the settlement's second report fails once: NATS gone again for a moment
    await clock.set(at('2026-01-01T00:04:20Z')); // the 00:04 slot falls meanwhile
    await ticker.stop();
    expect(dispatched.map((d) => [d.slot, d.kind])).toEqual([
      ['2026-01-01T00:01:00.000Z', 'missed'],
      ['2026-01-01T00:02:00.000Z', 'missed'],
      ['2026-01-01T00:03:00.000Z', 'catch-up'],
      ['2026-01-01T00:04:00.000Z', 'schedule'],
    ]);
    const windows = new Set(dispatched.slice(0, 3).map((d) => /from \S+ until \S+/.exec(d.reason ?? '')?.[0]));
    expect([...windows]).toHaveLength(1);
    expect([...windows][0]).toMatch(/^from 2026-01-01T00:01:00\.000Z until 2026-01-01T00:03:4\d\.\d{3}Z$/);
  });
});
