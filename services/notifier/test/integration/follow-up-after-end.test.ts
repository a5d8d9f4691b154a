import { createLogger, createRegistry, ManualClock, openKv, vigilMetrics } from '@vigil/shared';
import { startNats, type TestServer } from '@vigil/shared/testing';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupKeyOf } from '../../src/alert.js';
import type { Delivery, Dispatcher } from '../../src/dispatcher.js';
import { FollowUps } from '../../src/follow-ups.js';
import { GroupStore, groupKvKey } from '../../src/group-store.js';
import { decideOnAlert, type GroupState } from '../../src/grouping.js';
import { renderEmail } from '../../src/render-email.js';
import { renderSlack } from '../../src/slack-message.js';
import { toAlert } from '../../src/to-alert.js';

// A follow-up due after its incident ended must not read as if it were still going on: a breaker's "opened (+4 more)"
// after the breaker closed, a dead webhook listed as "failing; replay once it is back" after it was replayed and
// delivered.

let nats: TestServer;
let nc: NatsConnection;
let n = 0;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

const T0 = Date.parse('2026-11-24T03:00:00.000Z');
const I = 300_000;

async function setup(o: {
  resolvedAt?: (scope: string) => Promise<number | undefined>;
  webhookDeliveredAt?: (id: string) => number | undefined;
}) {
  const clock = new ManualClock(T0);
  const store = new GroupStore(await openKv(nc.jetstream(), `vigil_alert_groups_end_${++n}`));
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
    clock,
    intervalMs: I,
    sweepMs: I,
    logger: createLogger({ service: 'test', level: 'silent' }),
    metrics: vigilMetrics(createRegistry()),
    ...o,
  });
  return { clock, store, sent, followUps };
}

/** Folds `alerts` into their group as the notifier does (the first is sent), and returns the group's KV key. */
async function fold(store: GroupStore, alerts: NonNullable<ReturnType<typeof toAlert>>[], at: number) {
  const first = alerts[0];
  const key = groupKvKey(first.scope, `${first.kind}|${first.groupType}`);
  let state: GroupState | undefined;
  for (const a of alerts) state = decideOnAlert(state, groupKeyOf(a), a, at, I).next;
  await store.apply(key, () => ({ next: state, result: undefined }));
  return key;
}

const opened = (i: number, at: number) =>
  toAlert('breaker.opened.notifier.smtp', {
    id: `open-${i}`,
    time: new Date(at).toISOString(),
    data: { service: 'notifier', name: 'smtp', error: { type: 'TransientError', message: 'connect ECONNREFUSED' } },
  })!;

describe('a breaker follow-up due after the breaker closed', () => {
  it('is dropped and its group closed: never "opened (+N more)" after the close', async () => {
    const closedAt = T0 + 60_000;
    const { clock, store, sent, followUps } = await setup({
      resolvedAt: async (scope) => (scope === 'breaker:notifier.smtp' ? closedAt : undefined),
    });
    const key = await fold(
      store,
      [0, 1, 2, 3, 4].map((i) => opened(i, T0 + i * 1000)),
      T0,
    );
    await clock.advance(I);
    await followUps.flush(key);
    expect(sent).toHaveLength(0);
    expect((await store.get(key)).state).toBeUndefined();
  });

  it('a re-opening after the close is a new incident: its follow-up is sent', async () => {
    const { clock, store, sent, followUps } = await setup({ resolvedAt: async () => T0 - 60_000 });
    const key = await fold(
      store,
      [0, 1, 2].map((i) => opened(i, T0 + i * 1000)),
      T0,
    );
    await clock.advance(I);
    await followUps.flush(key);
    expect(sent).toHaveLength(1);
    const mail = renderEmail(sent[0].alert, { publicUrl: 'http://x', followUp: sent[0].followUp });
    expect(mail.subject).toBe('⚠️ WARNING: circuit breaker notifier/smtp opened — TransientError (+2 more)');
  });
});

const dead = (id: string) =>
  toAlert('webhook.dead', {
    id: `ev-${id}`,
    time: new Date(T0).toISOString(),
    data: {
      id,
      url: 'http://127.0.0.1:47011/hook',
      eventType: 'report.ready',
      attempts: 4,
      status: 503,
      error: { type: 'VIGIL_E_HTTP_STATUS', message: 'HTTP 503', class: 'transient' },
    },
  })!;

describe('a dead-webhook follow-up after some were replayed and delivered', () => {
  it('marks the delivered ones delivered, never "failing; replay once it is back"', async () => {
    const deliveredAt = T0 + 120_000;
    const { clock, store, sent, followUps } = await setup({
      webhookDeliveredAt: (id) => (id === 'wh-2' || id === 'wh-4' ? deliveredAt : undefined),
    });
    const key = await fold(store, ['wh-1', 'wh-2', 'wh-3', 'wh-4'].map(dead), T0);
    await clock.advance(I);
    await followUps.flush(key);
    expect(sent).toHaveLength(1);
    const { alert, followUp } = sent[0];
    const mail = renderEmail(alert, { publicUrl: 'http://x', followUp });
    expect(mail.text).toContain('wh-2 — delivered at 2026-11-24 03:02:00 UTC (replayed after it was given up)');
    expect(mail.text).toContain('wh-3 — HTTP 503 after 4 attempts (failing; replay once it is back)');
    expect(mail.text).not.toMatch(/wh-2 — HTTP 503/);
    // the latest one shown (wh-4) says it was delivered since
    expect(mail.text).toMatch(/Delivered since:\s+2026-11-24 03:02:00 UTC \(replayed after it was given up/);
    expect(mail.text).toMatch(
      /1\. wh-4 was replayed and delivered since \(2026-11-24 03:02:00 UTC\): nothing to do for it/,
    );
    expect(renderSlack(alert, { publicUrl: 'http://x', followUp }).text).toContain('Delivered since: ');
  });

  it('is not sent at all once every webhook it names was delivered', async () => {
    const { clock, store, sent, followUps } = await setup({ webhookDeliveredAt: () => T0 + 1000 });
    const key = await fold(store, ['wh-1', 'wh-2', 'wh-3'].map(dead), T0);
    await clock.advance(I);
    await followUps.flush(key);
    expect(sent).toHaveLength(0);
    expect((await store.get(key)).state?.sending).toBeUndefined();
    expect((await store.get(key)).state?.pending).toBe(0);
  });
});
