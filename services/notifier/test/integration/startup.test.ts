import { createLogger, EventBus } from '@vigil/shared';
import { startNats, startSmtpSink, waitFor } from '@vigil/shared/testing';
import { connect } from 'nats';
import { describe, expect, it } from 'vitest';
import { startNotifierService } from '../../src/service.js';
import { runData } from './harness.js';

describe('notifier start-up', () => {
  it('emails a failure published before its first start, and only logs a days-old one', async () => {
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
        env: {
          NATS_URL: nats.url,
          SMTP_URL: sink.url,
          HTTP_PORT: '0',
          LOG_LEVEL: 'silent',
          ADMIN_EMAIL: 'admin@example.com',
          ALERT_GROUP_INTERVAL: '0',
          VIGIL_JOBS_FILE: '/nonexistent/jobs.yaml',
        },
        handleSignals: false,
      });
      try {
        const [mail] = await sink.waitForMessages(1);
        expect(mail.subject).toContain('early-job failed');
        const jsm = await nc.jetstreamManager();
        await waitFor(async () => {
          const info = await jsm.consumers.info('VIGIL_JOBS', 'notifier-job-failed');
          return info.num_pending === 0 && info.num_ack_pending === 0;
        });
        expect(sink.messages.map((m) => m.subject)).toEqual([mail.subject]);
        const metrics = await (await fetch(`${svc.url}/metrics`)).text();
        expect(metrics).toMatch(/result="expired"\} 1/);
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
