import { ManualClock } from '@vigil/shared';
import { collectEvents, type InstanceWithBreaker, startInstanceWithBreaker, waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BREAKER_INDEX_SCOPE } from '../../src/breaker-index.js';
import { kvSafeKey } from '../../src/dedupe-store.js';
import { formatTime } from '../../src/render-email.js';
import { roughDuration } from '../../src/watchdog-alerts.js';
import type { Harness } from './harness.js';
import { type NotifierService, replica, round, rounds, startTwoReplicas } from './watchdog-rounds.js';

// A breaker opened on an instance that then went away (kill -9, restart): its successor starts with a closed breaker
// and never publishes breaker.closed. The watchdog's health rounds end the opening: whoever got "opened" hears of it.

/** The emails about one breaker (the inbox is shared by the tests of the file). */
const about = (h: Harness, breaker: string) =>
  h.sink.messages.filter((m) => m.subject.includes(`circuit breaker ${breaker} `));

/** A real instance of `service` (runService, health answers with its breakers) whose breaker publishes its events. */
const startInstance = (h: Harness, service: string, breakerName: string) =>
  startInstanceWithBreaker({ natsUrl: h.nats.url, service, breakerName, publishEvents: true });

/** Opens the instance's breaker (its upstream is down; one failure opens it) and waits until the opening is handled. */
async function openBreaker(h: Harness, i: InstanceWithBreaker): Promise<void> {
  await i.breaker.fire().catch(() => undefined);
  expect(i.breaker.state).toBe('open');
  await waitFor(async () => {
    const info = await (await h.nc.jetstreamManager()).consumers.info('VIGIL_OPS', 'notifier-breaker-opened');
    return info.delivered.stream_seq > 0 && info.num_pending === 0 && info.num_ack_pending === 0;
  });
}

async function openingsIndexed(h: Harness): Promise<string[]> {
  const kv = await h.nc.jetstream().views.kv('vigil_notified');
  const e = await kv.get(kvSafeKey(`incident.${BREAKER_INDEX_SCOPE}`));
  return e?.operation === 'PUT' ? Object.keys(e.json<{ open: Record<string, unknown> }>().open) : [];
}

describe('a breaker opened on an instance that went away: one RESOLVED from the health rounds (real NATS, SMTP sink)', () => {
  const clock = new ManualClock(Date.now());
  const a = replica();
  const b = replica();
  let h: Harness;
  let second: NotifierService;
  const instances: InstanceWithBreaker[] = [];
  const closes = { stop: () => undefined } as ReturnType<typeof collectEvents>;

  beforeAll(async () => {
    ({ h, second } = await startTwoReplicas(clock, a, b));
    Object.assign(closes, collectEvents(h.nc, 'breaker.closed.>'));
  });
  afterAll(async () => {
    closes.stop();
    for (const i of instances) await i.handle.stop().catch(() => undefined);
    await second?.stop();
    await h?.stop();
  });

  it('the webhooks instance with the open breaker is killed and restarted: RESOLVED once, saying why', async () => {
    const name = 'http://127.0.0.1:47012';
    const breaker = `webhooks/${name}`;
    const first = await startInstance(h, 'webhooks', name);
    instances.push(first);
    await openBreaker(h, first);
    const [opened] = await h.events.waitFor('breaker.opened.webhooks', 1);
    const openedAt = Date.parse(opened.event.time);
    expect(opened.event.data.name).toBe(name);
    await waitFor(() => about(h, breaker).length === 1, { message: 'opened alert' });
    expect(about(h, breaker)[0].subject).toBe(`⚠️ WARNING: circuit breaker ${breaker} opened — TransientError`);
    expect(await openingsIndexed(h)).toEqual([`breaker:webhooks.${name}`]);

    // still open on the instance: the rounds leave it alone
    for (const r of (await rounds(clock, [a, b], 2)).flat()) expect(r.breakers).toBeUndefined();

    // gone without a close (its breaker never closed); its successor starts with a closed breaker, and its first call
    // through it succeeds (the destination is back): proven, so it no longer counts as maybe open (see the next tests)
    await first.handle.stop();
    const next = await startInstance(h, 'webhooks', name);
    instances.push(next);
    next.upstream.up = true;
    await next.breaker.fire();
    const unseen = await round(clock, [a, b]);
    expect(unseen.map((r) => r.breakers?.unseen ?? [])).toContainEqual([`breaker:webhooks.${name}`]);
    expect(about(h, breaker)).toHaveLength(1); // one round is not enough: an instance may have missed it

    const confirmed = await round(clock, [a, b]);
    // one replica sent it; the other found it claimed
    expect(confirmed.flatMap((r) => r.breakers?.resolved ?? [])).toEqual([`breaker:webhooks.${name}`]);
    await waitFor(() => about(h, breaker).length === 2, { message: 'resolved notice' });
    const notice = about(h, breaker)[1];
    // open until the first round that found it on no instance, not until now
    const openFor = roughDuration(unseen[0].at - openedAt);
    expect(notice.subject).toBe(
      `✅ RESOLVED: circuit breaker ${breaker} no longer open on any instance (open for at most ${openFor})`,
    );
    expect(notice.to).toEqual(['admin@example.com']);
    for (const body of [notice.text, notice.html]) {
      expect(body).toContain(
        `no instance of webhooks reports it open any more (the instance that opened it is gone: restarted or replaced); checked at ${formatTime(confirmed[0].at)}`,
      );
      expect(body).toContain(next.instance);
      expect(body).toContain(formatTime(openedAt));
    }
    expect(notice.text).toMatch(/Open on no instance at:\s+/);
    // its advice does not claim a probe got through: nothing did
    expect(notice.text).toContain('the instance that had it open is gone');
    expect(notice.text).not.toContain('a probe of');

    // nothing more, however many rounds; nobody ever published a close; nothing left to follow
    await rounds(clock, [a, b], 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(about(h, breaker)).toHaveLength(2);
    expect(closes.of('breaker.closed')).toHaveLength(0);
    expect(await openingsIndexed(h)).toEqual([]);
  }, 120_000);

  it('while another instance still has the breaker open, no RESOLVED; once none has, one', async () => {
    const name = 'https://partner.example';
    const breaker = `reports/${name}`;
    const one = await startInstance(h, 'reports', name);
    const two = await startInstance(h, 'reports', name);
    instances.push(one, two);
    await openBreaker(h, one);
    await openBreaker(h, two);
    await waitFor(() => about(h, breaker).length >= 1, { message: 'opened alert' });
    const warnings = about(h, breaker).length;

    // the first instance goes away; the second still lists its breaker open
    await one.handle.stop();
    for (const r of (await rounds(clock, [a, b], 4)).flat()) expect(r.breakers).toBeUndefined();
    await new Promise((r) => setTimeout(r, 300));
    expect(about(h, breaker)).toHaveLength(warnings);
    expect(about(h, breaker).map((m) => m.subject)).not.toContainEqual(expect.stringContaining('RESOLVED'));

    // the second goes too, replaced by one that has no such breaker (an instance creates a destination's breaker at its
    // first call there): the breaker is on no instance
    await two.handle.stop();
    instances.push(await startInstance(h, 'reports', 'https://another.example'));
    await rounds(clock, [a, b], 2);
    await waitFor(() => about(h, breaker).length === warnings + 1, { message: 'resolved notice' });
    await rounds(clock, [a, b], 1);
    await new Promise((r) => setTimeout(r, 300));
    const resolved = about(h, breaker).filter((m) => m.subject.startsWith('✅ RESOLVED'));
    expect(resolved).toHaveLength(1);
    expect(resolved[0].subject).toContain(`circuit breaker ${breaker} no longer open on any instance`);
    expect(closes.of('breaker.closed')).toHaveLength(0);
  }, 120_000);

  it('restarted while its dependency is still down: no RESOLVED while the new breaker is untried; one once a call succeeds', async () => {
    // the live case: secrets' file provider lost its file, breaker secrets-provider opened, the process was killed and
    // restarted; its new breaker is closed only because nothing has gone through it yet
    const name = 'secrets-provider';
    const breaker = `secrets/${name}`;
    const scope = `breaker:secrets.${name}`;
    const first = await startInstance(h, 'secrets', name);
    instances.push(first);
    await openBreaker(h, first);
    await waitFor(() => about(h, breaker).length === 1, { message: 'opened alert' });

    await first.handle.stop();
    const next = await startInstance(h, 'secrets', name);
    instances.push(next);
    expect(next.breaker).toMatchObject({ state: 'closed', proven: false });
    const waiting = (await rounds(clock, [a, b], 4)).flat();
    for (const r of waiting) {
      expect(r.breakers?.unproven).toEqual([scope]);
      expect(r.breakers?.unseen ?? []).toEqual([]);
      expect(r.breakers?.resolved ?? []).toEqual([]);
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(about(h, breaker)).toHaveLength(1);
    expect(await openingsIndexed(h)).toEqual([scope]);

    // the file is back: the successor's first call succeeds (no transition, so still no breaker.closed)
    next.upstream.up = true;
    await next.breaker.fire();
    expect(next.breaker).toMatchObject({ state: 'closed', proven: true });
    const unseen = await round(clock, [a, b]);
    expect(unseen.map((r) => r.breakers?.unseen ?? [])).toContainEqual([scope]);
    expect(about(h, breaker)).toHaveLength(1);
    const confirmed = await round(clock, [a, b]);
    expect(confirmed.flatMap((r) => r.breakers?.resolved ?? [])).toEqual([scope]);
    await waitFor(() => about(h, breaker).length === 2, { message: 'resolved notice' });
    const notice = about(h, breaker)[1];
    expect(notice.subject).toMatch(
      new RegExp(`^✅ RESOLVED: circuit breaker ${breaker} no longer open on any instance \\(open for at most `),
    );
    expect(notice.text).toContain(next.instance);
    await rounds(clock, [a, b], 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(about(h, breaker)).toHaveLength(2);
    expect(closes.of('breaker.closed')).toHaveLength(0);
    expect(await openingsIndexed(h)).toEqual([]);
  }, 120_000);
});
