import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startRedis, type TestServer, waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSecretsService } from '@vigil/secrets';
import { type Harness, runData, startHarness } from './harness.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vigil-test-notifier-'));
const jobsFile = path.join(dir, 'jobs.yaml');
const secretsFile = path.join(dir, 'secrets.json');

const job = (extra: string) => `    every: 1h\n    handler: command\n    command: { run: ["true"] }\n${extra}`;
writeFileSync(
  jobsFile,
  `jobs:
  job-level:
${job('    alerts: { recipients: ["not an address", "owner@example.com"], secret: team-recipients }\n')}
  secret-level:
${job('    alerts: { secret: team-recipients }\n')}
  default-secret-level:
${job('')}
  admin-level:
${job('    alerts: { recipients: ["broken@"], secret: no-such-secret }\n')}
`,
);
writeFileSync(
  secretsFile,
  JSON.stringify({
    'team-recipients': '["team@example.com", "nope"]',
    job_failure_recipients: 'ops@example.com, oncall@example.com',
  }),
);

describe('recipients cascade: jobs file -> alert secret -> ADMIN_EMAIL -> DEV_EMAIL_ADDRESSES', () => {
  let h: Harness;
  let redis: TestServer;
  let secrets: Awaited<ReturnType<typeof startSecretsService>>;
  beforeAll(async () => {
    h = await startHarness({
      VIGIL_JOBS_FILE: jobsFile,
      ADMIN_EMAIL: 'admin@example.com',
      DEV_EMAIL_ADDRESSES: 'dev1@example.com,dev2@example.com',
    });
    redis = await startRedis();
    secrets = await startSecretsService({
      env: {
        NATS_URL: h.nats.url,
        REDIS_URL: redis.url,
        HTTP_PORT: '0',
        LOG_LEVEL: 'silent',
        SECRETS_PROVIDER: 'file',
        SECRETS_FILE: secretsFile,
        VIGIL_JOBS_FILE: '/nonexistent/jobs.yaml',
      },
      handleSignals: false,
    });
  });
  afterAll(async () => {
    await secrets?.stop();
    await h?.stop();
    await redis?.stop();
  });

  const mailFor = async (jobName: string) => {
    h.sink.clear();
    await h.bus.publish(`job.failed.${jobName}`, runData(jobName));
    const [mail] = await h.sink.waitForMessages(1);
    expect(mail.subject).toContain(jobName);
    return mail;
  };

  it('uses the job alerts.recipients first, dropping invalid addresses', async () => {
    expect((await mailFor('job-level')).rcptTo).toEqual(['owner@example.com']);
  });

  it('without job recipients: the job alert secret', async () => {
    expect((await mailFor('secret-level')).rcptTo).toEqual(['team@example.com']);
  });

  it('without alerts in the job: the default secret job_failure_recipients', async () => {
    expect((await mailFor('default-secret-level')).rcptTo).toEqual(['ops@example.com', 'oncall@example.com']);
  });

  it('without any valid job recipient or secret: ADMIN_EMAIL', async () => {
    expect((await mailFor('admin-level')).rcptTo).toEqual(['admin@example.com']);
  });
});

// Variables are read at start: these levels run their own notifier (and NATS) without the variable above.
describe('recipients cascade without the variables', () => {
  // An invalid address in the variable stops the notifier at start (config.ts, test/unit/config.test.ts).
  it('without ADMIN_EMAIL: DEV_EMAIL_ADDRESSES', async () => {
    const h = await startHarness({
      VIGIL_JOBS_FILE: jobsFile,
      ADMIN_EMAIL: '',
      DEV_EMAIL_ADDRESSES: 'dev1@example.com, Dev Two <dev2@example.com>',
    });
    try {
      await h.bus.publish('job.failed.admin-level', runData('admin-level'));
      const [mail] = await h.sink.waitForMessages(1);
      expect(mail.rcptTo).toEqual(['dev1@example.com', 'dev2@example.com']);
    } finally {
      await h.stop();
    }
  });

  // No SECRETS_CACHE_KEY: the secrets service uses no Redis.
  const secretsOn = (natsUrl: string, file: string) =>
    startSecretsService({
      env: {
        NATS_URL: natsUrl,
        HTTP_PORT: '0',
        LOG_LEVEL: 'silent',
        SECRETS_PROVIDER: 'file',
        SECRETS_FILE: file,
        VIGIL_JOBS_FILE: '/nonexistent/jobs.yaml',
      },
      handleSignals: false,
    });

  it('with no recipient at all: an ERROR, notification.failed and a dead letter, never a silent drop', async () => {
    const h = await startHarness({ VIGIL_JOBS_FILE: jobsFile, ADMIN_EMAIL: '' });
    const empty = path.join(dir, 'empty-secrets.json');
    writeFileSync(empty, '{}');
    const s = await secretsOn(h.nats.url, empty);
    try {
      await h.bus.publish('job.failed.admin-level', runData('admin-level'));
      const failed = await h.events.waitFor('notification.failed');
      expect(failed[0].event.data.error.code).toBe('VIGIL_E_NO_RECIPIENTS');
      await h.events.waitFor('dlq.job.failed.admin-level');
      expect(h.sink.messages.length).toBe(0);
    } finally {
      await s.stop();
      await h.stop();
    }
  });

  it('with no default recipient: not ready, naming the variables to set, until the alert secret names someone', async () => {
    const h = await startHarness({ VIGIL_JOBS_FILE: jobsFile, ADMIN_EMAIL: '' });
    const empty = path.join(dir, 'no-recipients-secrets.json');
    writeFileSync(empty, '{}');
    let s: Awaited<ReturnType<typeof startSecretsService>> | undefined;
    const recipientsCheck = async () => {
      const res = await fetch(`${h.notifier.url}/health/ready`);
      const body = (await res.json()) as { checks: Record<string, { ok: boolean; error?: string }> };
      return { status: res.status, check: body.checks.recipients };
    };
    const until = async (pred: (r: Awaited<ReturnType<typeof recipientsCheck>>) => boolean) => {
      let last: Awaited<ReturnType<typeof recipientsCheck>> | undefined;
      await waitFor(
        async () => {
          last = await recipientsCheck();
          return pred(last);
        },
        { timeout: 20_000, interval: 250, message: 'readiness' },
      ).catch(() => expect.fail(`readiness stayed ${JSON.stringify(last)}`));
      return last as Awaited<ReturnType<typeof recipientsCheck>>;
    };
    try {
      // no secrets service: nobody known
      let r = await until((x) => x.check?.ok === false);
      expect(r.status).toBe(503);
      expect(r.check.error).toMatch(
        /^no default alert recipient: ADMIN_EMAIL, DEV_EMAIL_ADDRESSES and ALERT_WEBHOOK_URL are unset and the secret job_failure_recipients could not be read .*Set ADMIN_EMAIL \(or DEV_EMAIL_ADDRESSES, or ALERT_WEBHOOK_URL\)$/,
      );
      // the secret does not exist
      s = await secretsOn(h.nats.url, empty);
      r = await until((x) => x.check?.error?.includes('does not exist or is empty') === true);
      expect(r.status).toBe(503);
      expect(r.check.error).toContain('reach nobody');
      // it names someone: ready
      await s.stop();
      s = await secretsOn(h.nats.url, secretsFile);
      r = await until((x) => x.check?.ok === true);
      expect(r.status).toBe(200);
    } finally {
      await s?.stop();
      await h.stop();
    }
  }, 90_000);

  it('while the secrets service is down (seed 000), an alert whose recipients live in a secret waits, then goes out', async () => {
    const h = await startHarness({ VIGIL_JOBS_FILE: jobsFile, ADMIN_EMAIL: '' });
    let s: Awaited<ReturnType<typeof startSecretsService>> | undefined;
    try {
      await h.bus.publish('job.failed.secret-level', runData('secret-level'));
      const [failed] = await h.events.waitFor('notification.failed');
      expect(failed.event.data.error).toMatchObject({ code: 'VIGIL_E_NO_RECIPIENTS', class: 'transient' });
      s = await secretsOn(h.nats.url, secretsFile);
      const [mail] = await h.sink.waitForMessages(1, 60_000);
      expect(mail.rcptTo).toEqual(['team@example.com']);
    } finally {
      await s?.stop();
      await h.stop();
    }
  }, 90_000);

  it('while the secrets service is down, ADMIN_EMAIL gets the alert at once, and the email says the on-call list did not', async () => {
    const h = await startHarness({ VIGIL_JOBS_FILE: jobsFile, ADMIN_EMAIL: 'admin@example.com' });
    try {
      await h.bus.publish('job.failed.secret-level', runData('secret-level'));
      const [mail] = await h.sink.waitForMessages(1);
      expect(mail.rcptTo).toEqual(['admin@example.com']);
      expect(mail.text.replace(/\s+/g, ' ')).toMatch(
        /Recipients\s*:? ADMIN_EMAIL only: the recipients in secret team-recipients could not be read \(.+\), so the people listed there did not get this email/,
      );
      // an alert that did not need the secret says nothing of it
      h.sink.clear();
      await h.bus.publish('job.failed.job-level', runData('job-level'));
      const [direct] = await h.sink.waitForMessages(1);
      expect(direct.text).not.toContain('could not be read');
    } finally {
      await h.stop();
    }
  });
});
