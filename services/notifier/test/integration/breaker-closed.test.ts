import { ManualClock } from '@vigil/shared';
import { waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNotifierService } from '../../src/service.js';
import { type Harness, notifierEnv, startHarness } from './harness.js';

// A circuit breaker that opened got a ⚠️ WARNING; when it closes again, the people who got it hear so, once.
const MIN = 60_000;

/** `breaker.<verb>.<service>.<name>` as the shared breaker publishes it (the subject's tokens are made NATS-safe). */
function breakerEvent(h: Harness, verb: 'opened' | 'half-open' | 'closed', service: string, name: string, at: Date) {
  const state = verb === 'opened' ? 'open' : verb;
  const data: Record<string, unknown> = { service, name, state, at: at.toISOString(), failures: 5 };
  if (verb === 'opened') {
    data.error = { type: 'HttpError', message: 'HTTP 503 Service Unavailable', class: 'transient' };
  }
  const token = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '_');
  return h.bus.publish(`breaker.${verb}.${token(service)}.${token(name)}`, data, { time: at });
}

/** The emails about one breaker (the harness's inbox is shared by the tests of a file). */
const about = (h: Harness, breaker: string) =>
  h.sink.messages.filter((m) => m.subject.includes(`circuit breaker ${breaker} `));

/** Both breaker consumers have handled everything published so far. */
async function settled(h: Harness): Promise<void> {
  await h.idle('VIGIL_OPS', 'notifier-breaker-opened');
  await h.idle('VIGIL_OPS', 'notifier-breaker-closed');
}

describe('circuit breaker closed again: one ✅ RESOLVED notice after an opened alert (real NATS, SMTP sink)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ WATCHDOG_DOWN_AFTER: 'off' });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('opened → WARNING; closed → one RESOLVED naming the breaker and how long it was open; a second closed → nothing', async () => {
    const b = 'webhooks/https://partner.example';
    const openedAt = new Date(Date.now() - 12 * MIN);
    await breakerEvent(h, 'opened', 'webhooks', 'https://partner.example', openedAt);
    await waitFor(() => about(h, b).length === 1, { message: 'opened alert' });
    expect(about(h, b)[0].subject).toBe(`⚠️ WARNING: circuit breaker ${b} opened — HttpError`);

    await breakerEvent(h, 'closed', 'webhooks', 'https://partner.example', new Date());
    await waitFor(() => about(h, b).length === 2, { message: 'closed notice' });
    const notice = about(h, b)[1];
    expect(notice.subject).toBe(`✅ RESOLVED: circuit breaker ${b} closed again (open for 12 min)`);
    expect(notice.to).toEqual(['admin@example.com']);
    for (const body of [notice.text, notice.html]) {
      expect(body).toContain('https://partner.example');
      expect(body).toContain('Open for');
      expect(body).toMatch(/12 min \d+ s/);
    }
    expect(notice.text).toContain(`Opened at`);
    const sent = await h.events.waitFor('notification.sent', 2);
    expect(sent.map((e) => e.event.data)).toContainEqual(
      expect.objectContaining({ severity: 'INFO', sourceSubject: 'breaker.closed.webhooks.https___partner_example' }),
    );

    // a second close (another instance of the service, or a re-publish with a new id): the incident is over
    await breakerEvent(h, 'closed', 'webhooks', 'https://partner.example', new Date());
    await settled(h);
    await new Promise((r) => setTimeout(r, 300));
    expect(about(h, b).length).toBe(2);
  });

  it('a close of a breaker never reported sends nothing', async () => {
    await breakerEvent(h, 'closed', 'reports', 'never-opened', new Date());
    await settled(h);
    await new Promise((r) => setTimeout(r, 300));
    expect(about(h, 'reports/never-opened').length).toBe(0);
  });

  it('an open older than ALERT_MAX_AGE (listed in the digest, not alerted) gets no closed notice', async () => {
    const b = 'reports/old-provider';
    await breakerEvent(h, 'opened', 'reports', 'old-provider', new Date(Date.now() - 25 * 60 * MIN));
    await breakerEvent(h, 'closed', 'reports', 'old-provider', new Date());
    await settled(h);
    await new Promise((r) => setTimeout(r, 300));
    expect(about(h, b).length).toBe(0);
  });

  it('a close handled before its (late) opened alert: the alert says already resolved, no notice follows', async () => {
    const b = 'reports/late-provider';
    const closedAt = new Date();
    await breakerEvent(h, 'closed', 'reports', 'late-provider', closedAt);
    await h.idle('VIGIL_OPS', 'notifier-breaker-closed');
    await breakerEvent(h, 'opened', 'reports', 'late-provider', new Date(closedAt.getTime() - 3 * MIN));
    await waitFor(() => about(h, b).length === 1, { message: 'late opened alert' });
    expect(about(h, b)[0].subject).toBe(`⚠️ WARNING: circuit breaker ${b} opened (already resolved) — HttpError`);
    await settled(h);
    await new Promise((r) => setTimeout(r, 300));
    expect(about(h, b).length).toBe(1);
  });

  it("the notifier's own SMTP breaker: an opened alert that went out by email gets no second message", async () => {
    // Emailed means SMTP already worked again when it went out; the closed notice would say the same thing twice.
    const b = 'notifier/smtp';
    await breakerEvent(h, 'opened', 'notifier', 'smtp', new Date(Date.now() - 2 * MIN));
    await waitFor(() => about(h, b).length === 1, { message: 'smtp opened alert' });
    await breakerEvent(h, 'closed', 'notifier', 'smtp', new Date());
    await settled(h);
    await new Promise((r) => setTimeout(r, 300));
    expect(about(h, b).length).toBe(1);
  });
});

describe('two notifier replicas: one closed notice', () => {
  let h: Harness;
  let second: Awaited<ReturnType<typeof startNotifierService>> | undefined;
  beforeAll(async () => {
    h = await startHarness({ WATCHDOG_DOWN_AFTER: 'off' });
    second = await startNotifierService({
      env: notifierEnv(h, { WATCHDOG_DOWN_AFTER: 'off' }),
      handleSignals: false,
    });
  });
  afterAll(async () => {
    await second?.stop();
    await h?.stop();
  });

  it('closes published by several instances at once, handled by both replicas, send one RESOLVED', async () => {
    const b = 'webhooks/https://shared.example';
    await breakerEvent(h, 'opened', 'webhooks', 'https://shared.example', new Date(Date.now() - 5 * MIN));
    await waitFor(() => about(h, b).length === 1, { message: 'opened alert' });
    const closedAt = new Date();
    await Promise.all(
      Array.from({ length: 6 }, () => breakerEvent(h, 'closed', 'webhooks', 'https://shared.example', closedAt)),
    );
    await waitFor(() => about(h, b).length >= 2, { message: 'closed notice' });
    await settled(h);
    await new Promise((r) => setTimeout(r, 500));
    const mails = about(h, b);
    expect(mails.map((m) => m.subject)).toEqual([
      `⚠️ WARNING: circuit breaker ${b} opened — HttpError`,
      `✅ RESOLVED: circuit breaker ${b} closed again (open for 5 min)`,
    ]);
    // every close was handled (acked), by whichever replica pulled it
    const handled = async (url: string) => {
      const text = await (await fetch(`${url}/metrics`)).text();
      const m =
        /vigil_events_handled_total\{subject="breaker\.closed\.webhooks\.https___shared_example",result="ok"\} (\d+)/.exec(
          text,
        );
      return Number(m?.[1] ?? 0);
    };
    // (the two replicas share the durable: each pulls some of them, typically 3 and 3)
    expect((await handled(h.notifier.url)) + (await handled(second!.url))).toBe(6);
  });
});

describe('a flapping breaker (open, half-open, open again within the group interval)', () => {
  let h: Harness;
  const clock = new ManualClock(Date.now());
  beforeAll(async () => {
    h = await startHarness({ ALERT_GROUP_INTERVAL: '5m', WATCHDOG_DOWN_AFTER: 'off' }, clock);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('one opened alert and one closed notice at the end; no "(+N more)" after it', async () => {
    const b = 'reports/flappy-api';
    const t0 = clock.now();
    await breakerEvent(h, 'opened', 'reports', 'flappy-api', new Date(t0));
    await waitFor(() => about(h, b).length === 1, { message: 'opened alert' });
    for (let i = 1; i <= 3; i++) {
      await clock.advance(30_000);
      await breakerEvent(h, 'half-open', 'reports', 'flappy-api', new Date(clock.now()));
      await breakerEvent(h, 'opened', 'reports', 'flappy-api', new Date(clock.now()));
    }
    await settled(h);
    expect(about(h, b).length).toBe(1);
    await clock.advance(30_000);
    await breakerEvent(h, 'half-open', 'reports', 'flappy-api', new Date(clock.now()));
    await breakerEvent(h, 'closed', 'reports', 'flappy-api', new Date(clock.now()));
    await waitFor(() => about(h, b).length === 2, { message: 'closed notice' });
    const notice = about(h, b)[1];
    expect(notice.subject).toBe(`✅ RESOLVED: circuit breaker ${b} closed again (open for 2 min)`);
    expect(notice.text).toMatch(
      /Unsent alerts folded before recovery:\s+3 \(3 circuit breaker reports\/flappy-api opened\)/,
    );

    // the group's follow-up would have been due now: the close dropped it
    await clock.advance(10 * MIN);
    await settled(h);
    await new Promise((r) => setTimeout(r, 300));
    expect(about(h, b).length).toBe(2);
  });

  it('a close that went by before any alert about the opening: its follow-up, due after the close, is dropped', async () => {
    // The opening's only alert is folded into a group whose first alert said "(already resolved)"; its close finds
    // nothing alerted (no notice). The group's follow-up is due after that close: "opened (+1 more)" would read as the
    // breaker being open now, so it is dropped with its group (follow-ups.ts), and no notice follows.
    const b = 'reports/late-api';
    const t = clock.now();
    await breakerEvent(h, 'closed', 'reports', 'late-api', new Date(t));
    await h.idle('VIGIL_OPS', 'notifier-breaker-closed');
    await breakerEvent(h, 'opened', 'reports', 'late-api', new Date(t - MIN)); // late: already resolved
    await waitFor(() => about(h, b).length === 1, { message: 'late opened alert' });
    expect(about(h, b)[0].subject).toContain('opened (already resolved)');
    await clock.advance(30_000);
    await breakerEvent(h, 'opened', 'reports', 'late-api', new Date(clock.now())); // folded
    await settled(h);
    await clock.advance(30_000);
    await breakerEvent(h, 'closed', 'reports', 'late-api', new Date(clock.now())); // nothing alerted yet
    await settled(h);
    expect(about(h, b).length).toBe(1);

    await clock.advance(5 * MIN);
    await new Promise((r) => setTimeout(r, 500));
    await clock.advance(10 * MIN);
    await new Promise((r) => setTimeout(r, 300));
    expect(about(h, b).map((m) => m.subject)).toEqual([
      `⚠️ WARNING: circuit breaker ${b} opened (already resolved) — HttpError`,
    ]);
  });

  it('a re-opening after the close still gets its follow-up and its notice', async () => {
    const b = 'reports/again-api';
    const t = clock.now();
    await breakerEvent(h, 'opened', 'reports', 'again-api', new Date(t));
    await waitFor(() => about(h, b).length === 1, { message: 'opened alert' });
    await breakerEvent(h, 'closed', 'reports', 'again-api', new Date(t + 1_000));
    await waitFor(() => about(h, b).length === 2, { message: 'notice' });
    await clock.advance(10_000);
    await breakerEvent(h, 'opened', 'reports', 'again-api', new Date(clock.now())); // a new opening: sent
    await waitFor(() => about(h, b).length === 3, { message: 'second opened alert' });
    await clock.advance(10_000);
    await breakerEvent(h, 'opened', 'reports', 'again-api', new Date(clock.now())); // folded
    await settled(h);
    await clock.advance(5 * MIN);
    await waitFor(() => about(h, b).length === 4, { message: 'follow-up of the re-opening' });
    expect(about(h, b)[3].subject).toBe(`⚠️ WARNING: circuit breaker ${b} opened — HttpError (+1 more)`);
  });
});
