import { ManualClock } from '@vigil/shared';
import type { InstanceWithBreaker } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from './harness.js';
import { type NotifierService, replica, rounds, startFake, startTwoReplicas, watchRecord } from './watchdog-rounds.js';

describe('watchdog: a Vigil service keeps restarting (two notifier replicas)', () => {
  const clock = new ManualClock(Date.now());
  const a = replica();
  const b = replica();
  let h: Harness;
  let second: NotifierService | undefined;
  let steady: InstanceWithBreaker | undefined;
  let crashing: InstanceWithBreaker | undefined;

  beforeAll(async () => {
    ({ h, second } = await startTwoReplicas(clock, a, b));
  });
  afterAll(async () => {
    await crashing?.handle.stop();
    await steady?.handle.stop();
    await second?.stop();
    await h?.stop();
  });

  it('one WARNING after 3 kills (the first instance seen included), one RESOLVED once stable for 15 min', async () => {
    const both = [a, b];
    // like a fresh `npm start`: the only instance is already running when the watchdog first sees the service, so
    // only the start it reports (startedAt) tells it is young. It is killed after two rounds (one answer missed by a
    // busy test machine changes nothing) and started again: a new instance id every time; the fourth one stays.
    const crashed: string[] = [];
    for (let i = 0; i < 3; i++) {
      crashing = await startFake(h.nats.url, 'webhooks');
      crashed.push(crashing.instance);
      await rounds(clock, both, 2);
      if (i === 0) {
        // the first instance seen: already running then (its lifetime unknown without its start), its start known
        const rec = (await watchRecord(h, 'webhooks')).value as { tracked: Array<Record<string, unknown>> };
        expect(rec.tracked).toEqual([
          {
            id: crashing.instance,
            first: expect.any(Number),
            last: expect.any(Number),
            pre: true,
            started: expect.any(Number),
          },
        ]);
      }
      await crashing.handle.stop();
      crashing = undefined;
    }
    steady = await startFake(h.nats.url, 'webhooks');
    // gone after two rounds without an answer: the third one two rounds after the loop
    const after = await rounds(clock, both, 2);
    expect(after.flat().map((r) => r.services.webhooks.restarts)).toContain('restarting');
    const [mail] = await h.sink.waitForMessages(1);
    expect(mail.subject).toMatch(
      /^⚠️ WARNING: webhooks keeps restarting: 3 instances went away soon after starting, within (2 min|\d+ s)$/,
    );
    expect(mail.headers['x-vigil-severity']).toBe('WARNING');
    expect(mail.text).toContain('ran for less than 5 min (from their start to their last answer)');
    for (const body of [mail.text, mail.html]) {
      for (const id of crashed) expect(body).toContain(id);
      expect(body).toContain('kubectl logs deploy/vigil-webhooks --previous');
      expect(body).toContain('docker compose logs --tail 200 webhooks');
      expect(body).toContain('Exit code 78');
    }
    expect(steady.instance).not.toBe(crashed[0]);
    expect(mail.text).not.toContain(steady.instance);

    // nothing more while it is open
    await rounds(clock, both, 2);
    const open = (await watchRecord(h, 'webhooks')).value as { restarting: { count: number; sent: boolean } };
    expect(open.restarting).toMatchObject({ count: 3, sent: true });
    expect(h.sink.messages).toHaveLength(1);

    // 15 min after the last short-lived instance answered, with the steady one still there: stable
    const calm = await rounds(clock, both, 30);
    const stableAt = calm.findIndex((r) => r.some((x) => x.services.webhooks.restarts === 'stable'));
    expect(stableAt).toBeGreaterThan(20);
    const mails = await h.sink.waitForMessages(2);
    expect(mails[1].subject).toBe('✅ RESOLVED: webhooks is stable again: no restart for 15 min (3 restarts seen)');
    expect(mails[1].text).toContain('Nothing to do for webhooks itself now');

    await rounds(clock, both, 3);
    expect(h.sink.messages.map((m) => m.subject.split(':')[0])).toEqual(['⚠️ WARNING', '✅ RESOLVED']);
    // both replicas watched every round; each transition was made once (CAS on the shared record)
    const changes = [...a.rounds, ...b.rounds].map((r) => r.services.webhooks?.restarts).filter(Boolean);
    expect(changes.filter((c) => c === 'restarting')).toHaveLength(1);
    expect(changes.filter((c) => c === 'stable')).toHaveLength(1);
    expect(changes.filter((c) => c === 'short-lived-gone')).toHaveLength(2); // the third one gone raised the warning
    const rec = await watchRecord(h, 'webhooks');
    expect(rec.value).not.toHaveProperty('restarting');
    expect(rec.text.length).toBeLessThan(1_500);
  }, 180_000);
});
