import {
  ErrorCode,
  JobTriggerSchema,
  MAX_JOB_DURATION_MS,
  MAX_TRIGGER_DELAY_SECONDS,
  MAX_TRIGGER_REASON_LENGTH,
  MAX_TRIGGER_REQUESTED_BY_LENGTH,
  MAX_TRIGGER_TARGET_LENGTH,
  MAX_TRIGGER_TARGETS,
  parseJobsFile,
  TriggerRequestSchema,
  triggerRunId,
  ValidationError,
} from '@vigil/shared';
import { describe, expect, it } from 'vitest';

function rejected(text: string) {
  try {
    parseJobsFile(text, 'jobs.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).code).toBe(ErrorCode.JOBS_FILE_INVALID);
    return {
      message: (err as Error).message,
      errors: (err as ValidationError).details?.errors as { line: number; path: string; message: string }[],
    };
  }
  throw new Error('expected the file to be rejected');
}

const job = (body: string) => `jobs:\n  a:\n    handler: health.daily\n${body}`;

describe('jobs file: deadlines and durations', () => {
  it('rejects startDeadline: 0 and backup.after: 0 with their lines, like timeout: 0', () => {
    const { errors, message } = rejected(
      job('    every: 1m\n    startDeadline: 0\n    backup: { after: 0s }\n    timeout: 0\n'),
    );
    expect(errors).toEqual([
      expect.objectContaining({ line: 5, path: 'jobs.a.startDeadline', message: '`startDeadline` must be positive' }),
      expect.objectContaining({ line: 6, path: 'jobs.a.backup.after', message: '`backup.after` must be positive' }),
      expect.objectContaining({ line: 7, path: 'jobs.a.timeout', message: '`timeout` must be positive' }),
    ]);
    expect(message).toContain('jobs.yaml:5:20 jobs.a.startDeadline: `startDeadline` must be positive');
  });

  it('bounds every duration at 366d (a huge `every` must not reach the API as an invalid Date)', () => {
    const { errors } = rejected(
      job(
        [
          '    every: 200000000d',
          '    timeout: 367d',
          '    startDeadline: 53w',
          '    backup: { after: 400d }',
          '    catchUp: 1000d',
          '    retries: { base: 5s, max: 9999d }',
          '',
        ].join('\n'),
      ),
    );
    expect(errors.map((e) => [e.line, e.path, e.message])).toEqual([
      [4, 'jobs.a.every', '`every` must be at most 366d'],
      [5, 'jobs.a.timeout', '`timeout` must be at most 366d'],
      [6, 'jobs.a.startDeadline', '`startDeadline` must be at most 366d'],
      [7, 'jobs.a.backup.after', '`backup.after` must be at most 366d'],
      [8, 'jobs.a.catchUp', '`catchUp` must be at most 366d'],
      [9, 'jobs.a.retries.cap', '`retries.cap` must be at most 366d'],
    ]);
    const digits = rejected(job(`    every: "${'9'.repeat(400)}s"\n`)).errors;
    expect(digits.map((e) => e.message)).toContain('`every` must be at most 366d');
    // a YAML number too big for a double is Infinity: rejected too (by the duration shape)
    expect(rejected(job(`    timeout: ${'9'.repeat(400)}\n`)).errors).toEqual([
      expect.objectContaining({ line: 4, path: 'jobs.a.timeout' }),
    ]);
    const http = rejected(
      'jobs:\n  h:\n    handler: http\n    http: { url: "https://x.example", timeout: 400d }\n',
    ).errors;
    expect(http).toEqual([expect.objectContaining({ line: 4, path: 'jobs.h.http.timeout' })]);
  });

  it('accepts 366d exactly', () => {
    const file = parseJobsFile(
      job('    every: 366d\n    timeout: 366d\n    startDeadline: 366d\n    backup: { after: 366d }\n'),
    );
    expect(file.jobs.a).toMatchObject({
      every: MAX_JOB_DURATION_MS,
      timeout: MAX_JOB_DURATION_MS,
      startDeadline: MAX_JOB_DURATION_MS,
      backup: { after: MAX_JOB_DURATION_MS },
    });
  });
});

describe('jobs file: YAML aliases', () => {
  it('accepts more than 100 jobs sharing one anchor', () => {
    let text = 'jobs:\n  j0:\n    handler: health.daily\n    targets: &all [acme, globex]\n';
    for (let i = 1; i <= 150; i++) text += `  j${i}:\n    handler: health.daily\n    targets: *all\n`;
    const file = parseJobsFile(text);
    expect(Object.keys(file.jobs)).toHaveLength(151);
    expect(file.jobs.j150.targets).toEqual(['acme', 'globex']);
  });

  it('an alias bomb is a JOBS_FILE_INVALID problem with a line, not a bare ReferenceError', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i <= 8; i++)
      lines.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    const { errors, message } = rejected(`${lines.join('\n')}\njobs: {}\n`);
    expect(errors).toEqual([expect.objectContaining({ line: 1, path: '' })]);
    expect(message).toMatch(/jobs\.yaml:1:1 cannot resolve the YAML: .*alias/i);
  });
});

describe('jobs file: lookups by name', () => {
  it('the jobs map has no prototype; a job named like an Object.prototype member is an own entry', () => {
    const file = parseJobsFile(job('  constructor:\n    handler: health.daily\n'));
    expect(Object.getPrototypeOf(file.jobs)).toBeNull();
    expect(file.jobs.toString).toBeUndefined();
    expect('hasOwnProperty' in file.jobs).toBe(false);
    expect(file.jobs.constructor).toMatchObject({ name: 'constructor', handler: 'health.daily' });
    expect(JSON.parse(JSON.stringify(file)).jobs.a.name).toBe('a');
  });
});

describe('job.trigger', () => {
  it(`delaySeconds is at most ${MAX_TRIGGER_DELAY_SECONDS} (6 days, below the 7-day retention)`, () => {
    expect(JobTriggerSchema.safeParse({ reason: 'r', delaySeconds: 518_400 }).success).toBe(true);
    const r = JobTriggerSchema.safeParse({ reason: 'r', delaySeconds: 518_401 });
    expect(r.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'delaySeconds: must be at most 518400 (6 days)',
    ]);
    expect(JobTriggerSchema.safeParse({ reason: 'r', delaySeconds: 1e300 }).success).toBe(false);
  });

  it('free text is bounded: reason, requestedBy, targets (count and each), the same for the API request', () => {
    const issues = (data: unknown, schema: typeof JobTriggerSchema | typeof TriggerRequestSchema = JobTriggerSchema) =>
      schema.safeParse(data).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    const ok = {
      reason: 'r'.repeat(MAX_TRIGGER_REASON_LENGTH),
      requestedBy: 'b'.repeat(MAX_TRIGGER_REQUESTED_BY_LENGTH),
      targets: Array.from({ length: MAX_TRIGGER_TARGETS }, (_, i) => `${i}`.padEnd(MAX_TRIGGER_TARGET_LENGTH, 't')),
    };
    expect(issues(ok)).toBeUndefined();
    expect(issues({ ...ok, reason: 'x'.repeat(500_000) })).toEqual([
      'reason: must be at most 1000 characters (got 500000)',
    ]);
    expect(issues({ ...ok, requestedBy: 'b'.repeat(201) }, TriggerRequestSchema)).toEqual([
      'requestedBy: must be at most 200 characters (got 201)',
    ]);
    expect(issues({ reason: 'r', targets: ['a', 't'.repeat(201)] })).toEqual([
      'targets.1: must be at most 200 characters (got 201)',
    ]);
    expect(issues({ reason: 'r', targets: [...ok.targets, 'one-more'] })).toEqual([
      'targets: at most 200 targets per trigger (got 201); trigger the whole job without targets, or several triggers',
    ]);
  });

  it('triggerRunId keeps safe ids and hashes the rest into a KV-safe, stable token', () => {
    for (const id of ['01JTESTTRIGGER000000000000', '3f1c2a9e-0b7d-4c5e-9a11-2b3c4d5e6f70', 'ci_run-7']) {
      expect(triggerRunId(id)).toBe(id);
    }
    const kvKey = /^[-/=.\w]+$/;
    for (const id of ['manual:42', 'run 1', 'tick.1767247140', 'a/b', '.x', 'é', 'x'.repeat(129)]) {
      const runId = triggerRunId(id);
      expect(runId, id).toMatch(/^t-[0-9a-f]{40}$/);
      expect(runId).toMatch(kvKey);
      expect(triggerRunId(id)).toBe(runId);
    }
    expect(triggerRunId('manual:42')).not.toBe(triggerRunId('manual:43'));
  });
});
