import { ManualClock, serviceReadiness } from '@vigil/shared';
import type { InstanceWithBreaker } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';
import { replica, round, rounds, startFake, watchRecord } from './watchdog-rounds.js';

/** A real reports instance with a `redis` readiness check the test turns up and down. */
async function startReports(natsUrl: string): Promise<{ fake: InstanceWithBreaker; redis: { up: boolean } }> {
  const fake = await startFake(natsUrl, 'reports');
  const redis = { up: true };
  fake.handle.runtime.addCheck('redis', () => {
    if (!redis.up) throw new Error('connect ECONNREFUSED 10.0.0.9:6379');
  });
  return { fake, redis };
}

describe('watchdog: a Vigil service answers but is not ready', () => {
  const clock = new ManualClock(Date.now());
  const a = replica();
  let h: Harness;
  const instances: InstanceWithBreaker[] = [];
  const checks: Array<{ up: boolean }> = [];

  beforeAll(async () => {
    h = await startHarness({}, clock, { watchdog: { onRound: a.onRound } });
  });
  afterAll(async () => {
    for (const i of instances) await i.handle.stop();
    await h?.stop();
  });

  it('one CRITICAL email after 2 min with no ready instance, one RESOLVED when one is ready again', async () => {
    const one = await startReports(h.nats.url);
    const two = await startReports(h.nats.url);
    instances.push(one.fake, two.fake);
    checks.push(one.redis, two.redis);
    const [first] = await round(clock, [a]);
    expect(first.services.reports).toEqual({ instances: 2, change: 'first-seen' });

    // one instance not ready while the other is: the service works, nothing to say however long
    one.redis.up = false;
    await rounds(clock, [a], 6);
    expect(a.rounds.slice(-6).map((r) => r.services.reports.readiness)).not.toContain('not-ready-alert');
    expect(h.sink.messages).toHaveLength(0);

    two.redis.up = false;
    const [notReady] = await round(clock, [a]);
    expect(notReady.services.reports).toEqual({ instances: 2, readiness: 'not-ready' });
    await rounds(clock, [a], 3); // 30, 60, 90 s: not yet
    expect(h.sink.messages).toHaveLength(0);

    const [alerted] = await round(clock, [a]); // 120 s
    expect(alerted.services.reports.readiness).toBe('not-ready-alert');
    expect(alerted.services.reports.change).toBeUndefined(); // it answers: not down
    const [mail] = await h.sink.waitForMessages(1);
    expect(mail.subject).toBe('🚨 CRITICAL: reports is not ready: redis failing on all 2 instances for 2 min');
    expect(mail.to).toEqual(['admin@example.com']);
    expect(mail.headers['x-vigil-severity']).toBe('CRITICAL');
    for (const body of [mail.text, mail.html]) {
      expect(body).toContain('redis: connect ECONNREFUSED 10.0.0.9:6379 (every instance)');
      expect(body).toContain(one.fake.instance);
      expect(body).toContain(two.fake.instance);
      expect(body).toContain('Not ready since');
      expect(body).toContain('/health/ready');
      expect(body).toContain('redis-cli ping');
      expect(body).toContain('docker compose logs --tail 200 reports-1 reports-2');
    }
    expect(mail.text).toMatch(/RECOMMENDED ACTIONS\n {2}1\. See what each instance says/);
    const sent = await h.events.waitFor('notification.sent', 1);
    expect(sent[0].event.data).toMatchObject({
      channel: 'email',
      severity: 'CRITICAL',
      sourceSubject: 'vigil.health.reports',
    });

    await rounds(clock, [a], 4); // still not ready: nothing more
    expect(h.sink.messages).toHaveLength(1);

    two.redis.up = true;
    const [ready] = await round(clock, [a]);
    expect(ready.services.reports).toEqual({ instances: 2, readiness: 'ready-again' });
    const mails = await h.sink.waitForMessages(2);
    // not ready from round 0, one ready at round 9: 270 s
    expect(mails[1].subject).toBe('✅ RESOLVED: reports is ready again (not ready for 4 min)');
    expect(mails[1].text).toContain('4 min 30 s');
    expect(mails[1].text).toContain('Nothing to do for reports itself');

    await rounds(clock, [a], 3);
    expect(h.sink.messages).toHaveLength(2);
    const rec = await watchRecord(h, 'reports');
    expect(rec.value).not.toHaveProperty('notReady');
    expect(rec.value).not.toHaveProperty('readyAgain');
    expect(rec.text.length).toBeLessThan(1_500);
  }, 120_000);

  it('serviceReadiness gives the instance ids and why each is not ready only when asked (health pages unchanged)', async () => {
    const [one, two] = instances;
    checks[0].up = false;
    checks[1].up = true;
    const plain = await serviceReadiness(h.nc, 'reports', 1_000);
    expect(plain).not.toHaveProperty('instanceStarts');
    expect(plain).not.toHaveProperty('notReady');
    expect(Object.keys(plain).sort()).toEqual(['checks', 'error', 'instances', 'ready', 'service']);

    const detailed = await serviceReadiness(h.nc, 'reports', 1_000, { instances: true });
    expect(detailed).toMatchObject({ ready: false, instances: 2, error: plain.error });
    expect(detailed.instanceStarts?.map((i) => i.id).sort()).toEqual([one.instance, two.instance].sort());
    expect(detailed.notReady).toEqual([
      {
        instance: one.instance,
        phase: 'running',
        failing: [{ check: 'redis', error: 'connect ECONNREFUSED 10.0.0.9:6379' }],
      },
    ]);
    expect(await serviceReadiness(h.nc, 'nobody', 300, { instances: true })).toMatchObject({
      instances: 0,
      instanceStarts: [],
      notReady: [],
    });
  });
});
