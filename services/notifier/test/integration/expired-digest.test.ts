import { ManualClock } from '@vigil/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { startNotifierService } from '../../src/service.js';
import { type Harness, notifierEnv, runData, startHarness } from './harness.js';

// Alerts already older than ALERT_MAX_AGE when the notifier first sees them (it was down for days) used to be
// logged and acked: failures nobody heard about (seed 000). They now go out as ONE digest email per backlog.

const DAY = 86_400_000;
const QUIET = 10_000;
const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms));

async function metric(url: string, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = pattern.exec(text);
  return m ? Number(m[1]) : 0;
}

describe('alerts older than ALERT_MAX_AGE: one digest email, never silence', () => {
  let h: Harness | undefined;
  const extra: Array<{ stop(): Promise<unknown> }> = [];
  afterEach(async () => {
    for (const s of extra.splice(0)) await s.stop();
    await h?.stop();
    h = undefined;
  });

  it('two replicas drain a backlog of 60 old alerts: one digest, CRITICAL, 50 listed and "and 10 more"', async () => {
    const clock = new ManualClock(Date.now());
    h = await startHarness({}, clock);
    const second = await startNotifierService({ env: notifierEnv(h), clock, handleSignals: false });
    extra.push(second);

    const old = new Date(Date.now() - 2 * DAY);
    for (let i = 0; i < 60; i++) {
      // 6 CRITICAL failures among 54 WARNING partial runs
      const failed = i % 10 === 0;
      const job = `backlog-${i}`;
      await h.bus.publish(
        failed ? `job.failed.${job}` : `job.partial.${job}`,
        runData(job, failed ? {} : { status: 'partial', stats: { targets: 2, succeeded: 1, failed: 1, skipped: 0 } }),
        { time: new Date(old.getTime() + i * 60_000) },
      );
    }
    await h.idle('VIGIL_JOBS', 'notifier-job-failed');
    await h.idle('VIGIL_JOBS', 'notifier-job-partial');
    // every one recorded (and acked), none emailed on its own
    const expired = /result="expired"\} (\d+)/g;
    const count = async (url: string) =>
      [...(await (await fetch(`${url}/metrics`)).text()).matchAll(expired)].reduce((n, m) => n + Number(m[1]), 0);
    expect((await count(h.notifier.url)) + (await count(second.url))).toBe(60);
    expect(h.sink.messages).toHaveLength(0);

    // both replicas' timers fire; one claims the digest
    await clock.advance(QUIET);
    const [digest] = await h.sink.waitForMessages(1, 20_000);
    expect(digest.subject).toBe(
      '🚨 CRITICAL: 60 alerts older than 24 h were not sent one by one while the notifier was away',
    );
    expect(digest.rcptTo).toEqual(['admin@example.com']);
    const listed = digest.text.split('\n').filter((l) => / · (CRITICAL|WARNING) · backlog-\d+/.test(l));
    expect(listed).toHaveLength(50);
    // the most severe are kept when not all fit
    expect(listed.filter((l) => l.includes(' · CRITICAL · '))).toHaveLength(6);
    expect(listed[0]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC · CRITICAL · backlog-0 failed · run 01RUN\w+$/);
    expect(digest.text).toContain('… and 10 more (10 WARNING)');
    expect(digest.text).toContain('60 (6 CRITICAL, 54 WARNING)');

    await clock.advance(10 * QUIET);
    await settle(1_000);
    expect(h.sink.messages).toHaveLength(1);
    const sent =
      (await metric(h.notifier.url, /channel="digest",severity="CRITICAL",result="sent"\} (\d+)/)) +
      (await metric(second.url, /channel="digest",severity="CRITICAL",result="sent"\} (\d+)/));
    expect(sent).toBe(1);
  }, 60_000);

  it('a notifier that stops before the digest goes out loses nothing: the next one sends it', async () => {
    h = await startHarness({}, new ManualClock(Date.now()));
    const old = Date.now() - 3 * DAY;
    await h.bus.publish('job.failed.lost-a', runData('lost-a'), { time: new Date(old) });
    await h.bus.publish('job.stuck.lost-b', runData('lost-b', { status: 'stuck' }), { time: new Date(old + 1) });
    await h.bus.publish(
      'secrets.stale-served',
      { name: 'openai', ageSeconds: 90_000, at: new Date(old + 2).toISOString() },
      { time: new Date(old + 2) },
    );
    await h.idle('VIGIL_JOBS', 'notifier-job-failed');
    await h.idle('VIGIL_JOBS', 'notifier-job-stuck');
    await h.idle('VIGIL_SECRETS', 'notifier-secrets-stale-served');
    // acked, not sent yet (its clock never reaches the due time): the events are gone from the stream's view
    expect(h.sink.messages).toHaveLength(0);
    await h.notifier.stop();

    const clock = new ManualClock(Date.now());
    const next = await startNotifierService({ env: notifierEnv(h), clock, handleSignals: false });
    extra.push(next);
    await clock.advance(QUIET);
    const [digest] = await h.sink.waitForMessages(1, 20_000);
    expect(digest.subject).toBe(
      '🚨 CRITICAL: 3 alerts older than 24 h were not sent one by one while the notifier was away',
    );
    expect(digest.text).toContain('CRITICAL · lost-a failed');
    expect(digest.text).toContain('lost-b is stuck');
    expect(digest.text).toMatch(/WARNING · stale secret served: openai/);
  }, 60_000);
});
