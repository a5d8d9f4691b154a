import { makeEnvelope, ManualClock } from '@vigil/shared';
import { expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

const INTERVAL = 5 * 60_000;
const TITLE = '⚠️ WARNING: an alert could not be read';

/** Straight onto the stream, as another program would: the bus refuses to publish invalid data. */
function publishRaw(h: Harness, data: Record<string, unknown>) {
  const envelope = makeEnvelope('other-program', 'notify.send', data);
  return h.nc.jetstream().publish('notify.send', new TextEncoder().encode(JSON.stringify(envelope)));
}

it('an unreadable notify.send: one WARNING to the default recipients with the reason, the storm folded, each one dead-lettered', async () => {
  const clock = new ManualClock(Date.now());
  const h = await startHarness({ ALERT_GROUP_INTERVAL: '5m' }, clock);
  try {
    await publishRaw(h, { severity: 'LOUD', title: 'disk full on db-1', body: 'full', recipients: ['oncall@x.io'] });
    const [first] = await h.sink.waitForMessages(1);
    // the recipients it claims are not trusted: it goes where alerts go by default (ADMIN_EMAIL here)
    expect(first).toMatchObject({ subject: TITLE, to: ['admin@example.com'] });
    for (const said of [
      /Reason:\s+invalid notify\.send data: severity: /,
      /Claimed title:\s+disk full on db-1/,
      /Claimed severity:\s+LOUD/,
      /`vigil dlq list`/,
      /`vigil dlq replay <seq>`/,
    ]) {
      expect(first.text).toMatch(said);
    }

    // the rest of the storm: a missing title, a body that is not a string, an empty title, no severity
    await publishRaw(h, { severity: 'CRITICAL', body: 'no title' });
    await publishRaw(h, { severity: 'WARNING', title: 'numbers', body: 42 });
    await publishRaw(h, { severity: 'INFO', title: '', body: 'empty title' });
    await publishRaw(h, { title: 'no severity', body: 'x' });
    const dead = await h.events.waitFor('dlq.notify.send', 5);
    expect(dead.map((d) => d.headers['Vigil-Error-Class'])).toEqual(Array(5).fill('validation'));
    const reasons = dead.map((d) => d.headers['Vigil-Error']).join('\n');
    for (const field of ['severity', 'title', 'body']) expect(reasons).toContain(`${field}: `);
    await h.idle('VIGIL_NOTIFY', 'notifier-notify-send');
    // all handled; an email still on its way to the sink would be a second one, and "none came" has no event to
    // wait for: a short bounded wait
    await new Promise((r) => setTimeout(r, 300));
    expect(h.sink.messages).toHaveLength(1);

    // one follow-up after the group interval, not four more emails
    await clock.advance(INTERVAL);
    const mails = await h.sink.waitForMessages(2);
    expect(mails[1].subject).toBe(`${TITLE} (+4 more)`);
    await h.followUpsConfirmed();
    await clock.advance(3 * INTERVAL);
    // a timer fired by the advance sends in the background, and "nothing sent" has no event: a short bounded wait
    await new Promise((r) => setTimeout(r, 200));
    expect(h.sink.messages.map((m) => m.subject)).toEqual([TITLE, `${TITLE} (+4 more)`]);
  } finally {
    await h.stop();
  }
}, 30_000);
