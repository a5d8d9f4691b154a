import { type JobDefinition, ManualClock } from '@vigil/shared';
import type { KV } from 'nats';
import { describe, expect, it } from 'vitest';
import type { SchedulerContext } from '../src/context.js';
import type { JobState } from '../src/job-state.js';
import { SlotDispatcher } from '../src/slot-dispatcher.js';

const at = (s: string) => new Date(s).getTime();
const quiet = { info() {}, warn() {}, error() {}, debug() {} };
const enc = new TextEncoder();
const dec = new TextDecoder();

/** NATS as the dispatcher sees it (a KV bucket, the stream), which a test can take away and give back. */
function fakeNats() {
  const net = { down: false, dieAfterWrite: false };
  const unavailable = () => Object.assign(new Error('TIMEOUT'), { code: 'TIMEOUT' });
  const bucket = () => {
    const data = new Map<string, { value: Uint8Array; revision: number }>();
    let rev = 0;
    const entry = (key: string) => {
      const e = data.get(key);
      return e ? { key, value: e.value, revision: e.revision, operation: 'PUT', length: e.value.length } : null;
    };
    const write = (key: string, value: Uint8Array) => {
      data.set(key, { value, revision: ++rev });
      // stored, but the answer does not come back: the link died right after
      if (net.dieAfterWrite) {
        net.dieAfterWrite = false;
        net.down = true;
        throw unavailable();
      }
      return rev;
    };
    const kv = {
      async get(key: string) {
        if (net.down) throw unavailable();
        return entry(key);
      },
      async create(key: string, value: Uint8Array) {
        if (net.down) throw unavailable();
        if (data.has(key)) throw new Error('wrong last sequence: 1');
        return write(key, value);
      },
      async update(key: string, value: Uint8Array, revision: number) {
        if (net.down) throw unavailable();
        if (data.get(key)?.revision !== revision) throw new Error('wrong last sequence: 1');
        return write(key, value);
      },
      async put(key: string, value: Uint8Array) {
        if (net.down) throw unavailable();
        return write(key, value);
      },
    };
    return {
      kv: kv as unknown as KV,
      json: <T>(key: string) => (data.has(key) ? (JSON.parse(dec.decode(data.get(key)?.value)) as T) : undefined),
      seed: (key: string, v: unknown) => data.set(key, { value: enc.encode(JSON.stringify(v)), revision: ++rev }),
    };
  };
  const slots = bucket();
  const jobs = bucket();
  const published: { subject: string; runId: string; msgId: string }[] = [];
  const reasons: (string | undefined)[] = [];
  const bus = {
    async publish(subject: string, data: { runId: string; reason?: string }, opts: { msgId: string }) {
      if (net.down) throw unavailable();
      published.push({ subject, runId: data.runId, msgId: opts.msgId });
      reasons.push(data.reason);
      return { duplicate: false };
    },
  };
  return { net, slots, jobs, published, reasons, bus };
}

function setUp(lastSlotAt?: number) {
  const clock = new ManualClock(at('2026-01-01T00:05:00Z'));
  const nats = fakeNats();
  if (lastSlotAt !== undefined) nats.jobs.seed('tick', { paused: false, lastSlotAt } satisfies JobState);
  const ctx = {
    clock,
    log: quiet,
    bus: nats.bus,
    instance: 'me',
    kv: { runs: undefined, jobs: nats.jobs.kv, slots: nats.slots.kv },
    runs: { values: new Map(), get: () => undefined },
    jobStates: { get: () => ({ paused: false }) },
    occupyingRun: () => undefined,
    defaults: { startDeadlineMs: 120_000, timeoutMs: 3_600_000, slotGraceMs: 1_500 },
  } as unknown as SchedulerContext;
  const def = {
    name: 'tick',
    every: 60_000,
    handler: 'health.daily',
    concurrency: 'allow',
  } as unknown as JobDefinition;
  const mark = () => {
    const s = nats.jobs.json<JobState>('tick')?.lastSlotAt;
    return s === undefined ? undefined : new Date(s).toISOString();
  };
  return { clock, nats, dispatcher: new SlotDispatcher(ctx), def, mark };
}

/**
 * The job's last-slot mark is where catch-up starts after a restart. A slot that NATS kept from being
 * requested (and not yet reported missed) must stay after the mark, even when a later slot got through first:
 * otherwise a restart before the report would never report it.
 */
describe('the last-slot mark waits for a slot that was neither requested nor reported', () => {
  const S1 = at('2026-01-01T00:01:00Z');
  const S2 = at('2026-01-01T00:02:00Z');

  it('a later slot done first leaves the mark before it; its report moves the mark to the newest', async () => {
    const { nats, dispatcher, def, mark } = setUp(at('2026-01-01T00:00:00Z'));
    nats.net.down = true;
    await expect(dispatcher.dispatch(def, S1, 'schedule')).rejects.toThrow();
    nats.net.down = false;
    await dispatcher.dispatch(def, S2, 'schedule');
    expect(nats.published.map((p) => p.runId)).toEqual([`tick.${S2 / 1000}`]);
    expect(mark()).toBe('2026-01-01T00:00:00.000Z');

    await dispatcher.dispatch(def, S1, 'missed', 'could not be requested');
    expect(nats.published.at(-1)).toEqual({
      subject: 'job.missed.tick',
      runId: `tick.${S1 / 1000}`,
      msgId: `missed.tick.${S1 / 1000}`,
    });
    expect(mark()).toBe('2026-01-01T00:02:00.000Z');
  });

  it('with no mark yet, the mark goes just before the slot still open', async () => {
    const { nats, dispatcher, def, mark } = setUp();
    nats.net.down = true;
    await expect(dispatcher.dispatch(def, S1, 'schedule')).rejects.toThrow();
    nats.net.down = false;
    await dispatcher.dispatch(def, S2, 'schedule');
    expect(mark()).toBe('2026-01-01T00:00:59.999Z');
    await dispatcher.dispatch(def, S1, 'missed', 'could not be requested');
    expect(mark()).toBe('2026-01-01T00:02:00.000Z');
  });

  it('a retry of a slot whose claim was stored but not answered goes on at once (no take-over wait)', async () => {
    const { clock, nats, dispatcher, def, mark } = setUp(at('2026-01-01T00:00:00Z'));
    nats.net.dieAfterWrite = true; // the claim is stored, then NATS goes away
    await expect(dispatcher.dispatch(def, S1, 'schedule')).rejects.toThrow();
    nats.net.down = false;
    expect(nats.slots.json<{ state: string; by: string }>(`tick.${S1 / 1000}`)).toEqual({ state: 'claimed', by: 'me' });
    await dispatcher.dispatch(def, S1, 'missed', 'could not be requested');
    expect(clock.pending()).toBe(0);
    expect(nats.published.map((p) => p.msgId)).toEqual([`missed.tick.${S1 / 1000}`]);
    expect(nats.slots.json<{ state: string }>(`tick.${S1 / 1000}`)?.state).toBe('done');
    expect(mark()).toBe('2026-01-01T00:01:00.000Z');
  });
});

/** Another replica holds the slot's claim and NATS goes away before the holder requested it. */
describe('a take-over held up by NATS', () => {
  const S1 = at('2026-01-01T00:05:00Z');

  it('is tried again until NATS answers, and past the start deadline reports the slot missed instead of running it', async () => {
    const { clock, nats, dispatcher, def } = setUp(at('2026-01-01T00:04:00Z'));
    nats.slots.seed(`tick.${S1 / 1000}`, { state: 'claimed', by: 'other' });
    await dispatcher.dispatch(def, S1, 'schedule'); // taken: wait for the holder
    nats.net.down = true;
    await clock.advance(1_500); // the take-over cannot read the claim
    expect(clock.pending()).toBe(1); // ... and comes back later
    await clock.advance(120_000); // past the start deadline (2m), NATS still away
    nats.net.down = false;
    await clock.advance(1_500);
    expect(nats.published).toEqual([
      { subject: 'job.missed.tick', runId: `tick.${S1 / 1000}`, msgId: `missed.tick.${S1 / 1000}` },
    ]);
    expect(nats.reasons).toEqual([
      'could not be requested before its start deadline (120s): its holder other did not request it and NATS was unavailable until 2026-01-01T00:07:03.000Z',
    ]);
    expect(clock.pending()).toBe(0);
  });
});
