import { describe, expect, it } from 'vitest';
import {
  eventTypeFor,
  JobRunSchema,
  makeEnvelope,
  CloudEventSchema,
  schemaForSubject,
  Subjects,
  streamForSubject,
  validateData,
  ValidationError,
  registerEventSchema,
  envelopeProblem,
} from '@vigil/shared';
import { z } from 'zod';

const run = {
  runId: '01JRUN',
  job: 'daily',
  attempt: 1,
  trigger: 'schedule',
  scheduledAt: '2026-01-01T06:00:00.000Z',
  status: 'failed',
  error: { type: 'Error', message: 'boom', class: 'transient' },
  stats: { targets: 3, succeeded: 2, failed: 1, skipped: 0 },
  failures: [{ target: 'acme', error: 'timeout' }],
};

describe('envelope and schemas', () => {
  it('derives the CloudEvents type from the subject without instance tokens', () => {
    expect(eventTypeFor('job.failed.daily')).toBe('vigil.job.failed');
    expect(eventTypeFor('breaker.opened.svc.name')).toBe('vigil.breaker.opened');
    expect(eventTypeFor('secrets.refreshed')).toBe('vigil.secrets.refreshed');
    expect(eventTypeFor('webhook.send')).toBe('vigil.webhook.send');
  });

  it('builds a valid CloudEvent with a ULID id and vigil/<service> source', () => {
    const e = makeEnvelope('scheduler', 'job.failed.daily', run);
    expect(CloudEventSchema.parse(e)).toBeTruthy();
    expect(e.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(e.source).toBe('vigil/scheduler');
    expect(envelopeProblem(e)).toBeUndefined();
    expect(envelopeProblem({ ...e, specversion: '0.3' })).toMatch(/specversion/);
    // the payload published alone: told it is not an envelope, and where the payload goes
    expect(envelopeProblem({ reason: 'nightly fix' })).toMatch(/^not a CloudEvent \(no specversion\).*payload in data/);
  });

  it('maps every contract subject to a schema and a stream', () => {
    for (const s of [
      Subjects.jobTrigger('x'),
      Subjects.jobRequested('x'),
      Subjects.jobRecovered('x'),
      Subjects.jobCancel('x'),
      Subjects.secretsRefreshed,
      Subjects.secretsRefreshFailed,
      Subjects.secretsStaleServed,
      Subjects.webhookSend,
      Subjects.webhookDelivered,
      Subjects.webhookAttemptFailed,
      Subjects.webhookDead,
      Subjects.notifySend,
      Subjects.notificationSent,
      Subjects.notificationFailed,
      Subjects.breaker('opened', 'webhooks', 'http'),
      Subjects.breaker('half-open', 'webhooks', 'http'),
      Subjects.service('started'),
    ]) {
      expect(schemaForSubject(s), s).toBeDefined();
      expect(streamForSubject(s), s).toBeDefined();
    }
    expect(streamForSubject('dlq.job.failed.x')).toBe('VIGIL_DLQ');
    expect(schemaForSubject('job.frobnicated.x')).toBeUndefined();
  });

  it('accepts contract payloads, keeps unknown fields, and rejects missing required ones', () => {
    const parsed = JobRunSchema.parse({ ...run, future: 1 });
    expect((parsed as Record<string, unknown>).future).toBe(1);
    expect(() => validateData('job.failed.daily', { ...run, runId: undefined })).toThrow(ValidationError);
    expect(() => validateData('job.trigger.daily', { reason: 'ops', targets: ['a'], delaySeconds: 600 })).not.toThrow();
    expect(() => validateData('job.trigger.daily', {})).toThrow(/reason/);
    expect(() =>
      validateData('webhook.send', { url: 'https://example.com/h', eventType: 'x', payload: { a: 1 } }),
    ).not.toThrow();
    expect(() => validateData('webhook.send', { url: 'ftp://x', eventType: 'x', payload: 1 })).toThrow(/url/);
    expect(() => validateData('webhook.send', { url: 'https://example.com', eventType: 'x' })).toThrow(/payload/);
    // the same id rule as the webhooks service: refused at the publisher, not after queueing
    expect(() =>
      validateData('webhook.send', { id: 'order 42', url: 'https://example.com', eventType: 'x', payload: 1 }),
    ).toThrow(/letters, digits/);
    const raw = { url: 'https://example.com/h', eventType: 'x', payload: { text: 't' }, format: 'raw' };
    expect(() => validateData('webhook.send', raw)).not.toThrow();
    expect(() => validateData('webhook.send', { ...raw, format: 'standard' })).not.toThrow();
    expect(() => validateData('webhook.send', { ...raw, format: 'xml' })).toThrow(/format/);
    expect(() => validateData('notify.send', { severity: 'LOUD', title: 't', body: 'b' })).toThrow(/severity/);
    // another program's `critical` is an alert, not garbage: consumers read it as CRITICAL
    const notify = schemaForSubject('notify.send');
    expect(notify?.parse({ severity: ' critical', title: 't', body: 'b' })).toMatchObject({ severity: 'CRITICAL' });
    expect(notify?.parse({ severity: 'Warning', title: 't', body: 'b' })).toMatchObject({ severity: 'WARNING' });
    expect(() =>
      validateData('breaker.opened.webhooks.http', {
        service: 'webhooks',
        name: 'http',
        state: 'open',
        at: new Date().toISOString(),
      }),
    ).not.toThrow();
    expect(() => validateData('job.frobnicated.x', {})).toThrow(/no event schema/);
  });

  it('lets a service register a schema for a subject outside the contract', () => {
    registerEventSchema('job.progress.*', z.object({ runId: z.string(), pct: z.number() }));
    expect(() => validateData('job.progress.daily', { runId: 'r', pct: 50 })).not.toThrow();
    expect(() => validateData('job.progress.daily', { runId: 'r' })).toThrow(ValidationError);
  });
});
