import { ErrorCode, parseJobsFile, ValidationError } from '@vigil/shared';
import { describe, expect, it } from 'vitest';

const contractExample = `timezone: Europe/Berlin
jobs:
  daily-reports:
    schedule: "0 6 * * *"
    timezone: America/New_York
    handler: report.daily
    targets: { secret: companies }
    timeout: 30m
    startDeadline: 2m
    backup: { after: 1h }
    retries: { max: 3, backoff: exponential, base: 5s, max: 5m }
    concurrency: forbid
    catchUp: 1h
    alerts: { recipients: [ops@example.com], secret: alert-recipients }
  nightly-export:
    schedule: "*/30 * * * * *"
    handler: http
    http: { url: "https://api.example.com/export", method: POST, headers: { x-key: "\${secret:export-key}" }, body: {}, timeout: 30s }
  cleanup:
    handler: command
    command: { run: ["node", "scripts/cleanup.mjs"], timeout: 10m, env: { MODE: full } }
  custom:
    handler: module:./jobs/custom.mjs
    retries: { max: 0 }
  ping:
    every: 30m
    handler: health.daily
`;

function errorsOf(text: string) {
  try {
    parseJobsFile(text, 'jobs.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).code).toBe(ErrorCode.JOBS_FILE_INVALID);
    return (err as ValidationError).details?.errors as { line: number; path: string; message: string }[];
  }
  throw new Error('expected the file to be rejected');
}

describe('parseJobsFile', () => {
  it('accepts the contract example with durations in ms and defaults filled in', () => {
    const file = parseJobsFile(contractExample);
    expect(file.timezone).toBe('Europe/Berlin');
    const daily = file.jobs['daily-reports'];
    expect(daily).toMatchObject({
      name: 'daily-reports',
      schedule: '0 6 * * *',
      timezone: 'America/New_York',
      handler: 'report.daily',
      targets: { secret: 'companies' },
      timeout: 30 * 60_000,
      startDeadline: 120_000,
      backup: { after: 3_600_000 },
      retries: { max: 3, backoff: 'exponential', base: 5_000, cap: 300_000 },
      concurrency: 'forbid',
      catchUp: 3_600_000,
      alerts: { recipients: ['ops@example.com'], secret: 'alert-recipients' },
      options: {},
    });
    expect(file.jobs['nightly-export'].timezone).toBe('Europe/Berlin');
    expect(file.jobs['nightly-export'].options).toMatchObject({
      url: 'https://api.example.com/export',
      method: 'POST',
      timeout: 30_000,
    });
    expect(file.jobs.cleanup.options).toMatchObject({ run: ['node', 'scripts/cleanup.mjs'], timeout: 600_000 });
    expect(file.jobs.cleanup.retries).toEqual({ max: 3, backoff: 'exponential', base: 5_000, cap: 300_000 });
    expect(file.jobs.custom.retries.max).toBe(0);
    expect(file.jobs.ping.every).toBe(1_800_000);
  });

  it('lists every error with its line, not just the first', () => {
    const errors = errorsOf(`timezone: Mars/Olympus
jobs:
  good:
    every: 1m
    handler: health.daily
  bad-cron:
    schedule: "61 * * * *"
    handler: report.daily
  Bad_Name:
    handler: health.daily
  unknown-handler:
    handler: ftp
  typo:
    handler: report.daily
    shedule: "0 6 * * *"
  wrong-block:
    handler: command
    http: { url: "http://x" }
    command: { run: [ls] }
  bad-duration:
    handler: report.daily
    timeout: soon
`);
    const byLine = errors.map((e) => [e.line, e.message]);
    expect(byLine).toEqual([
      [1, expect.stringContaining('unknown time zone "Mars/Olympus"')],
      [7, expect.stringContaining('cron "61 * * * *" is invalid')],
      [9, expect.stringContaining('job name "Bad_Name"')],
      [12, expect.stringContaining('unknown handler "ftp"')],
      [15, 'unknown key "shedule"'],
      [18, expect.stringContaining('`http` options given but the handler is "command"')],
      [22, expect.stringContaining('"soon" is not a duration')],
    ]);
  });

  it('names the file and the lines in the message a user sees at start-up', () => {
    expect(() =>
      parseJobsFile('jobs:\n  x:\n    handler: report.daily\n    concurrency: sometimes\n', '/etc/vigil/jobs.yaml'),
    ).toThrow(/\/etc\/vigil\/jobs\.yaml:4:\d+ jobs\.x\.concurrency: /);
  });

  it('rejects cron with the wrong number of fields and schedule+every together', () => {
    const errors = errorsOf(`jobs:
  a:
    schedule: "* * * *"
    handler: health.daily
  b:
    schedule: "* * * * *"
    every: 5m
    handler: health.daily
`);
    expect(errors.map((e) => e.line)).toEqual([3, 7]);
    expect(errors[0].message).toMatch(/4 fields/);
  });

  it('reports YAML syntax errors and duplicate keys with lines', () => {
    expect(errorsOf('jobs:\n  a:\n    handler: [unclosed\n')[0].line).toBeGreaterThan(0);
    const dup = errorsOf('jobs:\n  a:\n    handler: health.daily\n    handler: http\n');
    expect(dup).toEqual([expect.objectContaining({ line: 4, message: 'duplicate key "handler"' })]);
  });

  it('requires the handler block for http and command, and rejects unknown keys inside blocks', () => {
    const errors = errorsOf(`jobs:
  h:
    handler: http
  c:
    handler: command
    command: { run: [ls], shell: true }
  r:
    handler: report.daily
    retries: { max: 2, jitter: full }
`);
    expect(errors.map((e) => [e.line, e.message])).toEqual([
      [3, expect.stringContaining('needs an `http: { url }` block')],
      [6, 'unknown key "shell"'],
      [9, 'unknown key "jitter"'],
    ]);
  });

  it('accepts an empty jobs map and defaults the zone to UTC; rejects a file without jobs', () => {
    expect(parseJobsFile('jobs: {}\n')).toEqual({ timezone: 'UTC', jobs: {} });
    expect(errorsOf('timezone: UTC\n')[0].message).toMatch(/missing `jobs:`/);
    expect(errorsOf('')[0].message).toMatch(/mapping with `jobs:`/);
  });

  it('passes module options under the `module` key and report options under `report`', () => {
    const file = parseJobsFile(`jobs:
  m:
    handler: module:./x.mjs
    module: { depth: 2 }
  r:
    handler: report.daily
    targets: [acme, globex]
    report: { format: pdf }
`);
    expect(file.jobs.m.options).toEqual({ depth: 2 });
    expect(file.jobs.r.options).toEqual({ format: 'pdf' });
    expect(file.jobs.r.targets).toEqual(['acme', 'globex']);
  });

  it('rejects an `every` that is not whole seconds (slots are named by their second)', () => {
    const errors = errorsOf('jobs:\n  a:\n    every: 1500ms\n    handler: health.daily\n');
    expect(errors).toEqual([
      expect.objectContaining({ line: 3, message: expect.stringContaining('whole number of seconds') }),
    ]);
  });
});

describe('cron errors name the field and value as written', () => {
  it('a month or day of month out of range is named as the user wrote it (croner counts them from 0)', () => {
    const problem = (cron: string) => {
      try {
        parseJobsFile(`jobs:\n  a:\n    schedule: "${cron}"\n    handler: health.daily\n`);
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    };
    expect(problem('0 6 * 13 *')).toContain('cron "0 6 * 13 *" is invalid: month 13 is out of range (1-12)');
    expect(problem('0 6 * 0 *')).toContain('month 0 is out of range (1-12)');
    expect(problem('0 6 32 * *')).toContain('day of month 32 is out of range (1-31)');
    expect(problem('61 6 * * *')).toContain('minute 61 is out of range (0-59)');
  });
});
