import { type Clock, createLogger, createRegistry, ManualClock, openKv, vigilMetrics } from '@vigil/shared';
import { startNats, type TestServer, waitFor } from '@vigil/shared/testing';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alert.js';
import type { Delivery, Dispatcher } from '../../src/dispatcher.js';
import { FollowUps } from '../../src/follow-ups.js';
import { GroupStore } from '../../src/group-store.js';
import type { GroupState } from '../../src/grouping.js';

// Node may run a timer a millisecond before Date.now() reaches its due time. A follow-up timer that fired early used
// to find nothing due and leave the follow-up to the next sweep, up to a whole group interval late (seen live: 2 min).

/** A clock whose timers fire 1 ms early, as Node's sometimes do (a 1 ms timer still takes its millisecond). */
function earlyClock(inner: ManualClock): Clock {
  return {
    now: () => inner.now(),
    setTimeout: (fn, ms) => inner.setTimeout(fn, ms > 1 ? ms - 1 : ms),
    clearTimeout: (h) => inner.clearTimeout(h),
    sleep: (ms, signal) => inner.sleep(ms, signal),
  };
}

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

describe('group follow-up timers', () => {
  it('a timer that fires early looks again at the due time: the follow-up goes out on time, not at the next sweep', async () => {
    const clock = new ManualClock(1_000_000);
    const store = new GroupStore(await openKv(nc.jetstream(), 'vigil_alert_groups_timer_test'));
    const sent: Delivery[] = [];
    const dispatcher = {
      deliver: async (d: Delivery) => {
        sent.push(d);
        return { channel: 'email' as const };
      },
    } as unknown as Dispatcher;
    const followUps = new FollowUps({
      store,
      dispatcher,
      clock: earlyClock(clock),
      intervalMs: 300_000,
      sweepMs: 300_000,
      logger: createLogger({ service: 'test', level: 'silent' }),
      metrics: vigilMetrics(createRegistry()),
    });
    const latest = { eventId: 'e2', headline: 'webhook to x given up', severity: 'WARNING' } as Alert;
    const dueAt = clock.now() + 60_000;
    const state: GroupState = {
      key: 'k',
      scope: 'webhook:x',
      openedAt: clock.now(),
      lastSentAt: clock.now(),
      total: 2,
      pending: 1,
      pendingItems: ['wh-2'],
      dueAt,
      latest,
    };
    await store.apply('k', () => ({ next: state, result: undefined }));
    await followUps.start();
    followUps.schedule('k', dueAt);

    await clock.advance(60_000 - 1); // the early firing: nothing due yet
    expect(sent).toHaveLength(0);
    await clock.advance(1);
    // the early flush reads KV for real: let it finish and fire what it scheduled (before the fix, nothing until the
    // sweep, five minutes on)
    await waitFor(async () => {
      await clock.advance(0);
      return sent.length === 1;
    }, 3_000);
    expect(clock.now()).toBe(dueAt);
    expect(sent[0].followUp).toMatchObject({ count: 1, items: ['wh-2'] });
    await followUps.stop();
  });
});
