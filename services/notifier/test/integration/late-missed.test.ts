import { ManualClock } from '@vigil/shared';
import { waitFor } from '@vigil/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, runData, startHarness } from './harness.js';

// After an 11-minute NATS outage the scheduler publishes every missed slot of it (all with the same window) and then
// one catch-up run, whose success is `job.recovered`. Missed and recovered events travel on separate consumers, so
// missed alerts still waiting are handled after the RESOLVED. Seen live: CRITICAL, RESOLVED, CRITICAL (already
// resolved), RESOLVED… An operator expects ONE CRITICAL and ONE RESOLVED that says how many reports it covers.

const INTERVAL = 5 * 60_000;
const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms));

async function metric(url: string, pattern: RegExp): Promise<number> {
  const m = pattern.exec(await (await fetch(`${url}/metrics`)).text());
  return m ? Number(m[1]) : 0;
}

function missed(job: string, at: number, from: number, until: number): Record<string, unknown> {
  const iso = (ms: number) => new Date(ms).toISOString();
  return runData(job, {
    status: 'missed',
    trigger: 'schedule',
    scheduledAt: iso(at - 30_000),
    finishedAt: iso(at),
    error: undefined,
    stats: undefined,
    reason: `could not be requested before its start deadline (30s): NATS was unavailable from ${iso(from)} until ${iso(until)} (11 min)`,
  });
}

describe('missed alerts of an outage handled after its recovery (separate consumers)', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('one CRITICAL, one RESOLVED counting the reports; late ones counted, not sent; a later failure still alerts', async () => {
    const clock = new ManualClock(Date.now());
    h = await startHarness({ ALERT_GROUP_INTERVAL: '5m' }, clock);
    const job = 'outage-job';
    const from = clock.now() - 15 * 60_000;
    const until = from + 11 * 60_000;
    const recoveredAt = until + 10_000;
    const publishMissed = (at: number) =>
      h!.bus.publish(`job.missed.${job}`, missed(job, at, from, until), { time: new Date(at) });

    // the burst: 20 missed slots of the outage
    for (let i = 0; i < 20; i++) await publishMissed(from + 30_000 + i * 5_000);
    const [critical] = await h.sink.waitForMessages(1);
    expect(critical.subject).toBe(`🚨 CRITICAL: ${job} missed its start deadline`);
    await h.idle('VIGIL_JOBS', 'notifier-job-missed');
    expect(h.sink.messages).toHaveLength(1);

    // the catch-up run succeeded
    await h.bus.publish(
      `job.recovered.${job}`,
      runData(job, { status: 'recovered', error: undefined, finishedAt: new Date(recoveredAt).toISOString() }),
      { time: new Date(recoveredAt) },
    );
    const mails = await h.sink.waitForMessages(2);
    expect(mails[1].subject).toBe(`✅ RESOLVED: ${job} recovered`);
    expect(mails[1].text).toMatch(/Reports covered:?\s+20 \(20 outage-job missed its start deadline\)/);

    // 10 more missed slots of the same outage, handled only now (older than the recovery)
    for (let i = 0; i < 10; i++) await publishMissed(from + 30_000 + (20 + i) * 5_000);
    await h.idle('VIGIL_JOBS', 'notifier-job-missed');
    await settle();
    expect(h.sink.messages.map((m) => m.subject)).toEqual([critical.subject, mails[1].subject]);
    // accounted for: counted (and logged with their event ids), not emailed
    const lateCount = /vigil_notifications_total\{[^}]*result="already-resolved"[^}]*\} (\d+)/;
    expect(await metric(h.notifier.url, lateCount)).toBe(10);

    // no "(+N more)" about them either, once the follow-up interval has passed
    await h.followUpsConfirmed();
    await clock.advance(INTERVAL + 1_000);
    await settle();
    await h.followUpsConfirmed();
    expect(h.sink.messages).toHaveLength(2);

    // a slot missed after the recovery is a new incident: a CRITICAL at once, not "(already resolved)"
    await publishMissed(clock.now() - 1_000);
    const after = await h.sink.waitForMessages(3);
    expect(after[2].subject).toBe(`🚨 CRITICAL: ${job} missed its start deadline`);
  });

  it('late alerts of an incident nobody was told about: ONE "(already resolved)" notice, never silence', async () => {
    const clock = new ManualClock(Date.now());
    h = await startHarness({ ALERT_GROUP_INTERVAL: '5m' }, clock);
    const job = 'unheard-job';
    const from = clock.now() - 15 * 60_000;
    const until = from + 11 * 60_000;
    const recoveredAt = until + 10_000;
    const publishMissed = (at: number) =>
      h!.bus.publish(`job.missed.${job}`, missed(job, at, from, until), { time: new Date(at) });

    // the recovery is handled before any missed alert of the outage
    await h.bus.publish(`job.recovered.${job}`, runData(job, { status: 'recovered', error: undefined }), {
      time: new Date(recoveredAt),
    });
    await h.sink.waitForMessages(1);
    for (let i = 0; i < 5; i++) await publishMissed(from + 30_000 + i * 5_000);
    const mails = await h.sink.waitForMessages(2);
    expect(mails[1].subject).toBe(`🚨 CRITICAL: ${job} missed its start deadline (already resolved)`);
    await h.idle('VIGIL_JOBS', 'notifier-job-missed');
    await settle();
    expect(h.sink.messages).toHaveLength(2);

    // a failure after the recovery is not folded into that notice's group: it alerts at once
    await publishMissed(clock.now() - 1_000);
    await waitFor(() => h!.sink.messages.length === 3);
    expect(h.sink.messages[2].subject).toBe(`🚨 CRITICAL: ${job} missed its start deadline`);

    // and the notice's four folded alerts get no "(+4 more)" after the interval
    await h.followUpsConfirmed();
    await clock.advance(INTERVAL + 1_000);
    await settle();
    await h.followUpsConfirmed();
    expect(h.sink.messages).toHaveLength(3);
  });
  it('the recovery handled while the first alert is still being delivered (after an outage): no CRITICAL after the RESOLVED', async () => {
    const clock = new ManualClock(Date.now());
    h = await startHarness({ ALERT_GROUP_INTERVAL: '5m' }, clock);
    const job = 'racing-job';
    const from = clock.now() - 15 * 60_000;
    const until = from + 11 * 60_000;
    const recoveredAt = until + 10_000;
    const publishMissed = (at: number) =>
      h!.bus.publish(`job.missed.${job}`, missed(job, at, from, until), { time: new Date(at) });
    const lateCount = /vigil_notifications_total\{[^}]*result="already-resolved"[^}]*\} (\d+)/;

    // the first CRITICAL is mid-delivery (a slow SMTP server) when the catch-up run's recovery is handled
    const held = h.sink.holdNext();
    for (let i = 0; i < 5; i++) await publishMissed(from + 30_000 + i * 5_000);
    await held.arrived;
    await h.bus.publish(
      `job.recovered.${job}`,
      runData(job, { status: 'recovered', error: undefined, finishedAt: new Date(recoveredAt).toISOString() }),
      { time: new Date(recoveredAt) },
    );
    const [resolved] = await h.sink.waitForMessages(1);
    expect(resolved.subject).toBe(`✅ RESOLVED: ${job} recovered`);
    // more missed slots of the same outage, handled only now: the CRITICAL under way tells of the incident
    for (let i = 0; i < 5; i++) await publishMissed(from + 30_000 + (5 + i) * 5_000);
    await waitFor(async () => h!.sink.messages.length > 1 || (await metric(h!.notifier.url, lateCount)) === 5, {
      message: 'the late alerts handled',
    });
    held.release();
    await h.sink.waitForMessages(2);
    await settle();
    expect(h.sink.messages.map((m) => m.subject)).toEqual([
      `✅ RESOLVED: ${job} recovered`,
      `🚨 CRITICAL: ${job} missed its start deadline`,
    ]);
    expect(await metric(h.notifier.url, lateCount)).toBe(5);
  });
});
