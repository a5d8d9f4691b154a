import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRegistry, ErrorCode, type EventBus, PermanentError, vigilMetrics } from '@vigil/shared';
import { describe, expect, it } from 'vitest';
import { Dispatcher } from '../../src/dispatcher.js';
import { RecipientLookup } from '../../src/recipient-lookup.js';
import type { OutgoingMail, SmtpChannel } from '../../src/smtp-channel.js';
import { toAlert } from '../../src/to-alert.js';
import { capturingLogger, type LogLine } from './capture.js';
import { failedEvent } from './fixtures.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vigil-test-recipients-'));
const jobsFile = path.join(dir, 'jobs.yaml');
const job = (extra: string) => `    every: 1h\n    handler: command\n    command: { run: ["true"] }\n${extra}`;
writeFileSync(
  jobsFile,
  `jobs:
  nw-partial:
${job('    alerts: { recipients: ["not-an-address", "ops@"], secret: no-such-secret }\n')}
`,
);

const alertOf = (n: number) =>
  toAlert('job.failed.nw-partial', failedEvent({ job: 'nw-partial' }, `01JFAILED00000000000000000${n}`))!;

function setup() {
  const lines: LogLine[] = [];
  const logger = capturingLogger(lines);
  const lookup = new RecipientLookup({
    jobsFile,
    jobsFileExplicit: true,
    secrets: {
      get: async (name: string) => {
        throw new PermanentError(`secret ${name} not found`, { code: ErrorCode.SECRET_NOT_FOUND });
      },
    },
    defaultSecret: 'job_failure_recipients',
    admin: 'admin@example.com',
    logger,
    now: () => Date.now(),
  });
  return { lines, lookup, logger };
}

describe('recipient problems are told, not only logged', () => {
  it("a job's alerts.secret that does not exist: one warning per job and secret, not one per alert", async () => {
    const { lines, lookup } = setup();
    for (let i = 1; i <= 5; i++) {
      expect((await lookup.resolve(alertOf(i))).recipients).toEqual(['admin@example.com']);
    }
    const warned = lines.filter((l) => l.level === 'warn' && l.msg.includes('no-such-secret'));
    expect(warned).toHaveLength(1);
    expect(warned[0].msg).toContain('alerts.secret no-such-secret of job nw-partial does not exist');
    expect(warned[0].fields).toMatchObject({ job: 'nw-partial', secretName: 'no-such-secret' });
  });

  it('invalid job recipients: the email to the fallback recipients names them', async () => {
    const { lookup, logger } = setup();
    const sent: OutgoingMail[] = [];
    const smtp: SmtpChannel = {
      send: async (mail) => {
        sent.push(mail);
        return { messageId: 'm', accepted: mail.to, refused: [] };
      },
      status: () => ({ state: 'closed', since: 0 }),
      onRecovered: () => undefined,
      close: () => undefined,
    };
    const dispatcher = new Dispatcher({
      bus: { publish: async () => undefined } as unknown as EventBus,
      smtp,
      recipients: lookup,
      publicUrl: 'http://vigil.example',
      metrics: vigilMetrics(createRegistry()),
      logger,
      now: () => Date.now(),
    });
    await dispatcher.deliver({ id: 'evt-1', alert: alertOf(9) });
    expect(sent[0].to).toEqual(['admin@example.com']);
    expect(sent[0].text.replace(/\s+/g, ' ')).toContain(
      'Invalid recipients: "not-an-address", "ops@" in the alerts.recipients of job nw-partial in the jobs file are not valid addresses: so it went to ADMIN_EMAIL instead. Fix them there.',
    );
    expect(sent[0].html).toContain('not-an-address');
  });
});
