import { ManualClock } from '@vigil/shared';
import type { InstanceWithBreaker } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNotifierService } from '../../src/service.js';
import { type Harness, notifierEnv, startHarness } from './harness.js';
import {
  INTERVAL,
  type NotifierService,
  replica,
  round,
  rounds,
  startFake,
  startTwoReplicas,
  watchdogKeys,
} from './watchdog-rounds.js';

describe('watchdog: a whole Vigil service stops answering', () => {
  const clock = new ManualClock(Date.now());
  const a = replica();
  let h: Harness;
  let scheduler: InstanceWithBreaker | undefined;

  beforeAll(async () => {
    h = await startHarness({}, clock, { watchdog: { onRound: a.onRound } });
  });
  afterAll(async () => {
    await scheduler?.handle.stop();
    await h?.stop();
  });

  it('one CRITICAL email after 2 min without an answer, one RESOLVED when an instance answers again', async () => {
    scheduler = await startFake(h.nats.url, 'scheduler');
    const [first] = await round(clock, [a]);
    expect(first.skipped).toBeUndefined();
    expect(first.services.scheduler).toEqual({ instances: 1, change: 'first-seen' });
    expect(Object.keys(first.services).sort()).toEqual(['reports', 'scheduler', 'secrets', 'webhooks']);
    await round(clock, [a]);

    await scheduler.handle.stop();
    scheduler = undefined;
    const [silent] = await round(clock, [a]);
    expect(silent.services.scheduler).toEqual({ instances: 0, change: 'silent' });
    await rounds(clock, [a], 3); // 30, 60, 90 s of silence: not yet
    expect(h.sink.messages).toHaveLength(0);

    const [down] = await round(clock, [a]); // 120 s
    expect(down.services.scheduler.change).toBe('down');
    const [mail] = await h.sink.waitForMessages(1);
    expect(mail.subject).toBe('🚨 CRITICAL: scheduler is down: no instance has answered for 2 min');
    expect(mail.to).toEqual(['admin@example.com']);
    expect(mail.headers['x-vigil-severity']).toBe('CRITICAL');
    for (const body of [mail.text, mail.html]) {
      expect(body).toContain('scheduled jobs are not being requested');
      expect(body).toContain('catch-up runs missed slots');
      expect(body).toContain('docker compose ps -a scheduler-1 scheduler-2');
      expect(body).toContain('kubectl get pods -l app.kubernetes.io/name=vigil-scheduler');
      expect(body).toContain('vigil health');
      expect(body).toContain('No answer since');
    }
    const sent = await h.events.waitFor('notification.sent', 1);
    expect(sent[0].event.data).toMatchObject({
      channel: 'email',
      severity: 'CRITICAL',
      sourceSubject: 'vigil.health.scheduler',
    });

    await rounds(clock, [a], 4); // still down: nothing more
    expect(h.sink.messages).toHaveLength(1);

    scheduler = await startFake(h.nats.url, 'scheduler');
    const [back] = await round(clock, [a]);
    expect(back.services.scheduler).toEqual({ instances: 1, change: 'back' });
    const mails = await h.sink.waitForMessages(2);
    // silent from round 0, answering at round 9: 270 s
    expect(mails[1].subject).toBe('✅ RESOLVED: scheduler is back: an instance answers again (down 4 min)');
    expect(mails[1].text).toContain('4 min 30 s');
    expect(mails[1].text).toContain('Nothing to do for scheduler itself');

    await rounds(clock, [a], 3);
    expect(h.sink.messages).toHaveLength(2);
  }, 120_000);

  it('never alerts about a service it has never seen answer (this deployment runs no reports, secrets, webhooks)', async () => {
    // every round so far asked them too: nobody answered, so they are not expected
    expect(a.rounds.length).toBeGreaterThan(10);
    for (const r of a.rounds) {
      for (const s of ['reports', 'secrets', 'webhooks']) expect(r.services[s]).toEqual({ instances: 0 });
    }
    expect(h.sink.messages.every((m) => m.subject.includes('scheduler'))).toBe(true);
    expect(await watchdogKeys(h)).toEqual(['watchdog_scheduler']);
  });
});

describe('watchdog with two notifier replicas', () => {
  const clock = new ManualClock(Date.now());
  const a = replica();
  const b = replica();
  let h: Harness;
  let second: NotifierService | undefined;
  let webhooks: InstanceWithBreaker | undefined;

  beforeAll(async () => {
    ({ h, second } = await startTwoReplicas(clock, a, b));
  });
  afterAll(async () => {
    await webhooks?.handle.stop();
    await second?.stop();
    await h?.stop();
  });

  it('still one CRITICAL email per outage and one RESOLVED', async () => {
    webhooks = await startFake(h.nats.url, 'webhooks');
    const both = [a, b];
    await rounds(clock, both, 2);
    await webhooks.handle.stop();
    webhooks = undefined;
    await rounds(clock, both, 5); // silent, then 2 min later: down
    const [mail] = await h.sink.waitForMessages(1);
    expect(mail.subject).toBe('🚨 CRITICAL: webhooks is down: no instance has answered for 2 min');
    expect(mail.text).toContain('VIGIL_WEBHOOKS');
    await rounds(clock, both, 3);
    expect(h.sink.messages).toHaveLength(1);

    webhooks = await startFake(h.nats.url, 'webhooks');
    await round(clock, both);
    const mails = await h.sink.waitForMessages(2);
    expect(mails[1].subject).toMatch(/^✅ RESOLVED: webhooks is back: an instance answers again \(down \d+ min\)$/);
    await rounds(clock, both, 3);
    expect(h.sink.messages.map((m) => m.subject.split(':')[0])).toEqual(['🚨 CRITICAL', '✅ RESOLVED']);
    // both replicas watched every round; the transitions were made once (CAS on the shared record)
    const changes = [...a.rounds, ...b.rounds].map((r) => r.services.webhooks?.change).filter(Boolean);
    expect(changes.filter((c) => c === 'down')).toHaveLength(1);
    expect(changes.filter((c) => c === 'back')).toHaveLength(1);
    expect(a.rounds.length).toBe(b.rounds.length);
  }, 120_000);
});

describe('watchdog across a notifier restart', () => {
  const clock = new ManualClock(Date.now());
  const a = replica();
  const b = replica();
  let h: Harness;
  let next: Awaited<ReturnType<typeof startNotifierService>> | undefined;
  let secrets: InstanceWithBreaker | undefined;

  beforeAll(async () => {
    h = await startHarness({}, clock, { watchdog: { onRound: a.onRound } });
  });
  afterAll(async () => {
    await secrets?.handle.stop();
    await next?.stop();
    await h?.stop();
  });

  it('a new notifier still expects the services an earlier one saw (KV), and alerts when one is gone', async () => {
    secrets = await startFake(h.nats.url, 'secrets');
    await round(clock, [a]);
    await h.notifier.stop();
    await secrets.handle.stop();
    secrets = undefined;

    next = await startNotifierService({
      env: notifierEnv(h),
      clock,
      handleSignals: false,
      watchdog: { onRound: b.onRound },
    });
    const [first] = await round(clock, [b]);
    expect(first.services.secrets).toEqual({ instances: 0, change: 'silent' });
    await rounds(clock, [b], 4);
    const [mail] = await h.sink.waitForMessages(1);
    expect(mail.subject).toBe('🚨 CRITICAL: secrets is down: no instance has answered for 2 min');
    expect(mail.text).toContain('secrets.get');
  }, 120_000);
});

describe('watchdog off', () => {
  const clock = new ManualClock(Date.now());
  const a = replica();
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ WATCHDOG_DOWN_AFTER: 'off' }, clock, { watchdog: { onRound: a.onRound } });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('WATCHDOG_DOWN_AFTER=off: no round, no record, no alert', async () => {
    const scheduler = await startFake(h.nats.url, 'scheduler');
    try {
      await clock.advance(INTERVAL);
      await scheduler.handle.stop();
      await clock.advance(10 * INTERVAL);
      // a round asks and waits for answers in real time (at least the 200 ms jitter): give one that time to show
      await new Promise((r) => setTimeout(r, 500));
      expect(a.rounds).toHaveLength(0);
      expect(await watchdogKeys(h)).toEqual([]);
      expect(h.sink.messages).toHaveLength(0);
    } finally {
      await scheduler.handle.stop();
    }
  });
});
