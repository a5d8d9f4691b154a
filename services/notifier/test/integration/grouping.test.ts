import { ManualClock } from '@vigil/shared';
import { waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNotifierService } from '../../src/service.js';
import { type Harness, notifierEnv, runData, startHarness } from './harness.js';

const INTERVAL = 5 * 60_000;

describe('notifier grouping (no storms, no silence)', () => {
  let h: Harness;
  const clock = new ManualClock(Date.now());
  beforeAll(async () => {
    h = await startHarness({ ALERT_GROUP_INTERVAL: '5m' }, clock);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('sends the first of 50 identical failures at once, then one follow-up with count 49 after the interval', async () => {
    const runIds: string[] = [];
    for (let i = 0; i < 50; i++) {
      const data = runData('storm-job');
      runIds.push(String(data.runId));
      await h.bus.publish('job.failed.storm-job', data);
      if (i % 10 === 9) await clock.advance(2_000); // 50 failures over 10 s
    }
    const [first] = await h.sink.waitForMessages(1);
    expect(first.subject).toBe('🚨 CRITICAL: storm-job failed — ConnectionError');
    await h.idle('VIGIL_JOBS', 'notifier-job-failed');
    expect(h.sink.messages.length).toBe(1);

    await clock.advance(INTERVAL - 10_000 - 1);
    await h.idle('VIGIL_JOBS', 'notifier-job-failed');
    expect(h.sink.messages.length).toBe(1);

    await clock.advance(1);
    const mails = await h.sink.waitForMessages(2);
    expect(mails[1].subject).toBe('🚨 CRITICAL: storm-job failed — ConnectionError (+49 more)');
    expect(mails[1].text).toContain('49 more alert(s)');
    // "the latest details": one of the folded runs, never the first one again
    const shown = runIds.filter((id) => mails[1].text.includes(id));
    expect(shown.length).toBe(1);
    expect(shown[0]).not.toBe(runIds[0]);

    await h.followUpsConfirmed();
    await clock.advance(3 * INTERVAL);
    // a timer fired by the advance sends in the background, and "nothing sent" has no event: a short bounded wait
    await new Promise((r) => setTimeout(r, 200));
    expect(h.sink.messages.length).toBe(2);
    h.sink.clear();
  });

  it('keeps other jobs and error types in their own groups', async () => {
    await h.bus.publish('job.failed.other-job', runData('other-job'));
    await h.bus.publish(
      'job.failed.other-job',
      runData('other-job', { error: { type: 'ValidationError', message: 'bad input', class: 'validation' } }),
    );
    const mails = await h.sink.waitForMessages(2);
    expect(mails.map((m) => m.subject).sort()).toEqual([
      '🚨 CRITICAL: other-job failed — ConnectionError',
      '🚨 CRITICAL: other-job failed — ValidationError',
    ]);
    h.sink.clear();
  });

  it('closes the group on recovery: resolved email, and the next failure alerts at once', async () => {
    await h.bus.publish('job.failed.flappy', runData('flappy'));
    await h.sink.waitForMessages(1);
    await h.bus.publish('job.failed.flappy', runData('flappy'));
    await h.idle('VIGIL_JOBS', 'notifier-job-failed');
    expect(h.sink.messages.length).toBe(1);
    await h.bus.publish('job.recovered.flappy', runData('flappy', { status: 'recovered', error: undefined }));
    const mails = await h.sink.waitForMessages(2);
    expect(mails[1].subject).toBe('✅ RESOLVED: flappy recovered');
    await h.bus.publish('job.failed.flappy', runData('flappy'));
    await waitFor(() => h.sink.messages.length === 3);
    expect(h.sink.messages[2].subject).toBe('🚨 CRITICAL: flappy failed — ConnectionError');
  });
});

describe('grouping survives a notifier restart (state in JetStream KV)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ ALERT_GROUP_INTERVAL: '5m' }, new ManualClock(Date.now()));
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('a replica started after the restart sends the pending follow-up', async () => {
    await h.bus.publish('job.failed.restart-job', runData('restart-job'));
    await h.sink.waitForMessages(1);
    await h.bus.publish('job.failed.restart-job', runData('restart-job'));
    await h.bus.publish('job.failed.restart-job', runData('restart-job'));
    await h.idle('VIGIL_JOBS', 'notifier-job-failed');
    await h.notifier.stop();

    const clock = new ManualClock(Date.now());
    const again = await startNotifierService({
      env: notifierEnv(h, { ALERT_GROUP_INTERVAL: '5m' }),
      clock,
      handleSignals: false,
    });
    try {
      await clock.advance(INTERVAL);
      const mails = await h.sink.waitForMessages(2);
      expect(mails[1].subject).toBe('🚨 CRITICAL: restart-job failed — ConnectionError (+2 more)');
    } finally {
      await again.stop();
    }
  });
});
