import { createLogger, EventBus } from '@vigil/shared';
import { startNats, startSmtpSink, waitFor } from '@vigil/shared/testing';
import { connect } from 'nats';
import { describe, expect, it } from 'vitest';
import { startNotifierService } from '../../src/service.js';
import { notifierEnv, runData } from './harness.js';

describe('notifier start-up', () => {
  it('emails a failure published before its first start; a days-old one goes into one digest email, not nowhere', async () => {
    const nats = await startNats();
    const sink = await startSmtpSink();
    const nc = await connect({ servers: nats.url });
    const bus = new EventBus(nc, { service: 'test', logger: createLogger({ service: 'test', level: 'silent' }) });
    try {
      await bus.ensureStreams();
      await bus.publish('job.failed.early-job', runData('early-job'));
      await bus.publish('job.failed.ancient-job', runData('ancient-job'), {
        time: new Date(Date.now() - 3 * 86_400_000),
      });
      const svc = await startNotifierService({
        env: notifierEnv({ nats, sink }),
        handleSignals: false,
        digest: { quietMs: 1_000 },
      });
      try {
        const mails = await sink.waitForMessages(2, 20_000);
        const early = mails.find((m) => m.subject.includes('early-job failed'));
        expect(early, 'the fresh failure, on its own').toBeDefined();
        // The 3-day-old failure is not emailed on its own (no flood after an outage), nor dropped (seed 000):
        // it is listed in one digest, with its time, severity, headline and run.
        const digest = mails.find((m) => m !== early);
        expect(digest?.subject).toBe(
          '🚨 CRITICAL: 1 alert older than 24 h was not sent one by one while the notifier was away',
        );
        expect(digest?.rcptTo).toEqual(['admin@example.com']);
        expect(digest?.text).toMatch(/ · CRITICAL · ancient-job failed · run 01RUN\w+/);
        expect(digest?.text).not.toContain('early-job');
        const jsm = await nc.jetstreamManager();
        await waitFor(async () => {
          const info = await jsm.consumers.info('VIGIL_JOBS', 'notifier-job-failed');
          return info.num_pending === 0 && info.num_ack_pending === 0;
        });
        const metrics = await (await fetch(`${svc.url}/metrics`)).text();
        expect(metrics).toMatch(/channel="none",severity="CRITICAL",result="expired"\} 1/);
        expect(metrics).toMatch(/channel="digest",severity="CRITICAL",result="sent"\} 1/);
        // every event handled (above); a third email would be late, and "none came" has no event to wait for:
        // a bounded wait
        await new Promise((r) => setTimeout(r, 1_500));
        expect(sink.messages).toHaveLength(2);
      } finally {
        await svc.stop();
      }
    } finally {
      await nc.drain();
      await sink.stop();
      await nats.stop();
    }
  });
});
