import { createLogger, ErrorCode } from '@vigil/shared';
import { type SmtpSink, startSmtpSink, waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureReason } from '../../src/fallback-note.js';
import { createSmtpChannel, type OutgoingMail } from '../../src/smtp-channel.js';
import { createSmtpTransport } from '../../src/smtp-transport.js';
import { startTarpitSmtp, type TarpitSmtp } from './tarpit-smtp.js';

const logger = createLogger({ service: 'test', level: 'silent' });
const mail = (n: number): OutgoingMail => ({
  to: ['ops@example.com'],
  subject: `alert ${n}`,
  html: `<p>alert ${n}</p>`,
  text: `alert ${n}`,
});

/** Settles with the outcome, or with 'hung' when `p` is still pending after `ms`. */
async function outcome(p: Promise<unknown>, ms: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve('hung'), ms);
  });
  try {
    return await Promise.race([
      p.then(
        () => 'sent',
        (err: unknown) => `failed: ${(err as { code?: string }).code ?? ''} ${(err as Error).message}`,
      ),
      hung,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describe('SMTP transport and channel against real servers', () => {
  let sink: SmtpSink;
  let tarpit: TarpitSmtp;
  beforeAll(async () => {
    sink = await startSmtpSink();
    tarpit = await startTarpitSmtp();
  });
  afterAll(async () => {
    await sink?.stop();
    await tarpit?.close();
  });

  it('refused connects free their pool slot: the same transport sends again once SMTP is back', async () => {
    // The root cause of the live incident: each refused connect used to leave a dead "busy" connection in the
    // 5-slot pool, so from the 6th send on every sendMail waited forever, even after SMTP came back.
    await sink.stop();
    const transport = createSmtpTransport(sink.url, 1_000);
    try {
      for (let i = 1; i <= 8; i++) {
        const r = await outcome(
          transport.sendMail({ from: 'vigil@localhost', to: 'ops@example.com', text: `#${i}` }),
          3_000,
        );
        expect(r, `send #${i}`).toMatch(/^failed: .*ECONNREFUSED/);
      }
      await sink.start();
      expect(
        await outcome(transport.sendMail({ from: 'vigil@localhost', to: 'ops@example.com', text: 'back' }), 3_000),
      ).toBe('sent');
      await sink.waitForMessages(1);
    } finally {
      transport.close();
      sink.clear();
    }
  });

  it('a send the server never finishes ends at 2 × SMTP_TIMEOUT with VIGIL_E_TIMEOUT', async () => {
    const smtp = createSmtpChannel({
      url: tarpit.url,
      from: 'vigil@localhost',
      timeoutMs: 300,
      breakerResetMs: 60_000,
      logger,
      retries: 0,
    });
    try {
      const t0 = Date.now();
      const err = await smtp.send(mail(1)).catch((e: unknown) => e);
      const took = Date.now() - t0;
      expect(err).toMatchObject({ code: ErrorCode.TIMEOUT });
      expect(took).toBeGreaterThanOrEqual(550);
      expect(took).toBeLessThan(2_000);
      expect(tarpit.stuck).toBeGreaterThanOrEqual(1);
      expect(smtp.status()).toMatchObject({
        state: 'closed',
        lastError: expect.stringMatching(/timed out after 600 ms/),
      });
    } finally {
      smtp.close();
    }
  });

  it('probes SMTP by itself when the breaker half-opens and closes it without any alert being sent', async () => {
    await sink.stop();
    // the breaker's events, as the EventBus would publish them
    const transitions: string[] = [];
    const smtp = createSmtpChannel({
      url: sink.url,
      from: 'vigil@localhost',
      timeoutMs: 500,
      breakerResetMs: 300,
      logger,
      retries: 0,
      bus: { publish: (subject) => void transitions.push(subject) },
    });
    const count = (verb: string) => transitions.filter((s) => s === `breaker.${verb}.notifier.smtp`).length;
    let recovered = 0;
    smtp.onRecovered(() => recovered++);
    try {
      for (let i = 0; i < 5; i++)
        await expect(smtp.send(mail(i))).rejects.toMatchObject({ code: ErrorCode.SMTP_FAILED });
      expect(smtp.status().state).toBe('open');
      await expect(smtp.send(mail(5))).rejects.toMatchObject({ code: ErrorCode.BREAKER_OPEN });
      expect(smtp.status().lastError).toMatch(/ECONNREFUSED/);
      // Still down: the half-open probe (sent with no alert to send) fails and opens the breaker again.
      await waitFor(() => count('opened') >= 2, 3_000);
      expect(count('half-open')).toBeGreaterThanOrEqual(1);
      expect(count('closed')).toBe(0);

      await sink.start();
      const back = Date.now();
      await waitFor(() => smtp.status().state === 'closed', 3_000);
      // one reset period (300 ms) plus the probe, with slack for a loaded machine
      expect(Date.now() - back).toBeLessThan(2_000);
      expect(recovered).toBe(1);
      expect(sink.messages).toHaveLength(0);
      await smtp.send(mail(6));
      await sink.waitForMessages(1);
    } finally {
      smtp.close();
      sink.clear();
    }
  });

  it('a burst of sends while SMTP is down: every error, and what the breaker remembers, names the real cause', async () => {
    await sink.stop();
    const smtp = createSmtpChannel({
      url: sink.url,
      from: 'vigil@localhost',
      timeoutMs: 1_000,
      breakerResetMs: 60_000,
      logger,
      retries: 0,
    });
    try {
      // More at once than the pool has connections: some wait in its queue when the breaker opens and the pool
      // is recreated under them.
      const errors = await Promise.all(
        Array.from({ length: 12 }, (_, i) => smtp.send(mail(i)).catch((e: unknown) => e)),
      );
      for (const err of errors) expect(failureReason(err)).toMatch(/ECONNREFUSED/);
      expect(smtp.status()).toMatchObject({ state: 'open', lastError: expect.stringMatching(/ECONNREFUSED/) });
      const later = await smtp.send(mail(99)).catch((e: unknown) => e);
      expect(later).toMatchObject({ code: ErrorCode.BREAKER_OPEN });
      expect(failureReason(later)).toMatch(/^breaker smtp is open: .*ECONNREFUSED/);
    } finally {
      smtp.close();
      await sink.start();
    }
  });

  it('shutdown ends a stuck send after the grace, not at its bound, and sends no retry', async () => {
    const shutdown = new AbortController();
    const smtp = createSmtpChannel({
      url: tarpit.url,
      from: 'vigil@localhost',
      timeoutMs: 5_000,
      breakerResetMs: 60_000,
      logger,
      signal: shutdown.signal,
      shutdownGraceMs: 200,
    });
    try {
      const before = tarpit.stuck;
      const sending = smtp.send(mail(1)).catch((e: unknown) => e);
      await waitFor(() => tarpit.stuck > before, 5_000);
      const t0 = Date.now();
      shutdown.abort();
      const err = await sending;
      expect(err).toMatchObject({ code: ErrorCode.SHUTTING_DOWN });
      expect(Date.now() - t0).toBeLessThan(1_500);
      expect(tarpit.stuck).toBe(before + 1);
      // the abandoned call says nothing about the server: the breaker does not count it
      expect(smtp.status()).toMatchObject({ state: 'closed' });
    } finally {
      smtp.close();
    }
  });
});
