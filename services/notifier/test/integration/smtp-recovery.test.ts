import { type ReadinessReport, serviceReadiness } from '@vigil/shared';
import { waitFor } from '@vigil/shared/testing';
import { describe, expect, it } from 'vitest';
import { startNotifierService } from '../../src/service.js';
import { type Harness, notifierEnv, runData, startHarness } from './harness.js';
import { startTarpitSmtp } from './tarpit-smtp.js';

// Short SMTP timings so an outage and its recovery take seconds: the breaker half-opens 1 s after it opened and
// every SMTP call is bounded by 2 × 500 ms.
const FAST = { SMTP_TIMEOUT: '500ms', SMTP_BREAKER_RESET: '1s' };
const RESET_MS = 1_000;
const CALL_BOUND_MS = 1_000;

async function readiness(
  h: Harness,
): Promise<{ status: number; body: { checks: Record<string, { ok: boolean; error?: string }> } }> {
  const res = await fetch(`${h.notifier.url}/health/ready`);
  return { status: res.status, body: (await res.json()) as ReadinessReport };
}

/** Nothing pending or unacknowledged on the consumer (a nak'ed redelivery included), within `timeoutMs`. */
async function settled(h: Harness, durable: string, timeoutMs: number): Promise<void> {
  const jsm = await h.nc.jetstreamManager();
  await waitFor(
    async () => {
      const info = await jsm.consumers.info('VIGIL_JOBS', durable);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    },
    { timeout: timeoutMs, interval: 100, message: `${durable} settled` },
  );
}

describe('SMTP outage and recovery without a restart (real NATS, real SMTP sink on the same port)', () => {
  it('emails the waiting alert once SMTP is back and is not ready while the breaker is open (no fallback)', async () => {
    const h = await startHarness(FAST);
    try {
      await h.sink.stop();
      const data = runData('ledger-sync');
      await h.bus.publish('job.failed.ledger-sync', data);
      await h.events.waitFor('breaker.opened.notifier.smtp', 1, 15_000);

      // Not ready, with the reason, on /health/ready and on the NATS endpoint that `vigil health` aggregates.
      const r = await readiness(h);
      expect(r.status).toBe(503);
      expect(r.body.checks.smtp.ok).toBe(false);
      expect(r.body.checks.smtp.error).toMatch(
        /^SMTP breaker (open|half-open), email failing since \S+: SMTP (send|probe) failed: connect ECONNREFUSED .*no ALERT_WEBHOOK_URL fallback/,
      );
      const agg = await serviceReadiness(h.nc, 'notifier');
      expect(agg.ready).toBe(false);
      expect(JSON.stringify(agg.checks)).toContain('no ALERT_WEBHOOK_URL fallback');

      // Keep SMTP down for 4 deliveries of the alert (1 s, 2 s, 5 s apart): the broker's next one is 10 s away, so
      // an email well before that is the notifier acting on the recovery, not a lucky redelivery. Meanwhile the
      // breaker half-opened, its probe was refused and it opened again, and far more connects were refused than
      // the pool has slots (5), which is what used to wedge it for good.
      const failures = () =>
        h.events.waitFor('notification.failed', 1, 0).then(
          (all) => all.filter((e) => e.event.data.sourceSubject === 'job.failed.ledger-sync').length,
          () => 0,
        );
      await waitFor(async () => (await failures()) >= 4, { timeout: 20_000, interval: 50 });
      expect((await h.events.waitFor('breaker.opened.notifier.smtp')).length).toBeGreaterThanOrEqual(2);
      await expect(h.events.waitFor('breaker.closed.notifier.smtp', 1, 0)).rejects.toThrow();
      expect((await readiness(h)).status).toBe(503);

      await h.sink.start();
      const back = Date.now();
      const subject = '🚨 CRITICAL: ledger-sync failed — ConnectionError';
      const mail = await waitFor(() => h.sink.messages.find((m) => m.subject === subject), 15_000);
      const tookMs = Date.now() - back;
      expect(mail.text).toContain(String(data.runId));
      // at most one reset period until the probe, the probe itself, then the send; slack for a loaded machine
      expect(tookMs).toBeLessThan(RESET_MS + 2 * CALL_BOUND_MS + 3_000);
      expect(await failures()).toBe(4);
      await h.events.waitFor('breaker.closed.notifier.smtp');
      await waitFor(async () => (await readiness(h)).status === 200, 5_000);

      // The broker's own redelivery (nak'ed while SMTP was down) finds the alert done: one email, not two.
      await settled(h, 'notifier-job-failed', 20_000);
      expect(h.sink.messages.filter((m) => m.subject === subject)).toHaveLength(1);
    } finally {
      await h.stop();
    }
  });

  it('with a fallback webhook: stays ready, the Slack message says email failed and why, the breaker shows as a problem', async () => {
    const h = await startHarness({ ...FAST, ALERT_WEBHOOK_URL: 'http://127.0.0.1:9/slack/alerts' });
    try {
      await h.sink.stop();
      await h.bus.publish('job.failed.billing', runData('billing'));
      const [first] = await h.events.waitFor('webhook.send', 1, 15_000);
      const note =
        /Email delivery failed: SMTP send failed: connect ECONNREFUSED 127\.0\.0\.1:\d+; this message came through the fallback webhook\./;
      expect(first.event.data.payload.text).toContain('🚨 CRITICAL: billing failed — ConnectionError');
      expect(first.event.data.payload.text).toMatch(note);
      expect(first.event.data.payload.blocks[0].type).toBe('header');
      expect(first.event.data.payload.blocks[1].text.text).toMatch(note);

      await h.bus.publish('job.failed.payroll', runData('payroll'));
      await h.events.waitFor('breaker.opened.notifier.smtp', 1, 15_000);
      // Once the breaker is open the fallback says so, with the failure that opened it.
      await h.bus.publish('job.failed.invoices', runData('invoices'));
      const sends = await waitFor(async () => {
        const all = await h.events.waitFor('webhook.send');
        return all.find((e) => String(e.event.data.payload.text).includes('invoices failed')) ? all : undefined;
      }, 15_000);
      const invoices = sends.find((e) => String(e.event.data.payload.text).includes('invoices failed'));
      expect(invoices?.event.data.payload.text).toMatch(
        /Email delivery failed: breaker smtp is (open|half-open)\b.*ECONNREFUSED.*fallback webhook/,
      );

      // Alerts still reach people: ready. The degraded email channel is what `vigil health` lists as a problem.
      const r = await readiness(h);
      expect(r.status).toBe(200);
      expect(r.body.checks.smtp.ok).toBe(true);
      expect((await serviceReadiness(h.nc, 'notifier')).ready).toBe(true);
      // what `vigil health` lists: the breakers the instances report not closed
      const smtpOpen = async () =>
        ((await serviceReadiness(h.nc, 'notifier')).openBreakers ?? []).some((b) => b.name === 'smtp');
      await waitFor(async () => ((await smtpOpen()) ? true : undefined), 5_000);

      await h.sink.start();
      await h.events.waitFor('breaker.closed.notifier.smtp', 1, RESET_MS + 2 * CALL_BOUND_MS + 5_000);
      await waitFor(async () => ((await smtpOpen()) ? undefined : true), 5_000);
      await h.bus.publish('job.failed.reports', runData('reports'));
      await waitFor(() => h.sink.messages.find((m) => m.subject === '🚨 CRITICAL: reports failed — ConnectionError'));
    } finally {
      await h.stop();
    }
  });

  it('a shutdown during a send the SMTP server never finishes ends within the grace; the alert is not lost', async () => {
    const tarpit = await startTarpitSmtp();
    // SMTP_TIMEOUT 10s (the default): a send is bounded at 20 s, the shutdown grace is 5 s.
    const h = await startHarness({ SMTP_URL: tarpit.url, SMTP_TIMEOUT: '10s' });
    let next: Awaited<ReturnType<typeof startNotifierService>> | undefined;
    try {
      const data = runData('archive');
      await h.bus.publish('job.failed.archive', data);
      await waitFor(() => tarpit.stuck >= 1, 10_000);

      const t0 = Date.now();
      await h.notifier.stop();
      const tookMs = Date.now() - t0;
      expect(tookMs).toBeLessThan(9_000);
      expect(tarpit.stuck).toBe(1);

      // handed back to the stream (nak), so the next notifier emails it
      next = await startNotifierService({
        env: notifierEnv(h),
        handleSignals: false,
      });
      const [mail] = await h.sink.waitForMessages(1, 10_000);
      expect(mail.subject).toBe('🚨 CRITICAL: archive failed — ConnectionError');
      expect(mail.text).toContain(String(data.runId));
    } finally {
      await next?.stop();
      await h.stop();
      await tarpit.close();
    }
  });
});
