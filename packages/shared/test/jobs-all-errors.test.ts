import { ErrorCode, parseJobsFile, ValidationError } from '@vigil/shared';
import { describe, expect, it } from 'vitest';

type Problem = { line: number; column: number; path: string; message: string };

function errorsOf(text: string): Problem[] {
  try {
    parseJobsFile(text, 'jobs.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).code).toBe(ErrorCode.JOBS_FILE_INVALID);
    return (err as ValidationError).details?.errors as Problem[];
  }
  throw new Error('expected the file to be rejected');
}

// Contract §5: "A bad jobs file (unknown handler, bad cron, unknown key) is rejected at start with every error
// and its line." A job that fails its shape check (unknown key, bad duration...) must still have its handler,
// cron and other rules checked.
describe('parseJobsFile reports every error of a job, not only its shape errors', () => {
  it('an unknown key does not hide the unknown handler and the bad cron of the same job', () => {
    const errors = errorsOf(`jobs:
  broken:
    handler: nope
    schedule: "bad"
    foo: 1
`);
    expect(errors).toEqual([
      { line: 3, column: 14, path: 'jobs.broken.handler', message: expect.stringContaining('unknown handler "nope"') },
      { line: 4, column: 15, path: 'jobs.broken.schedule', message: expect.stringContaining('cron "bad"') },
      { line: 5, column: 5, path: 'jobs.broken.foo', message: 'unknown key "foo"' },
    ]);
  });

  it('a bad duration does not hide the other rules; the message lists them all with file:line:column', () => {
    const text = `timezone: UTC
jobs:
  a:
    handler: report.daily
    schedule: "61 * * * *"
    timeout: xyz
    timezone: Mars/Olympus
  b:
    handler: command
    http: { url: "http://x" }
    retries: { max: 2, jitter: full, cap: 400d }
`;
    const errors = errorsOf(text);
    expect(errors.map((e) => [e.line, e.path, e.message])).toEqual([
      [5, 'jobs.a.schedule', expect.stringContaining('cron "61 * * * *" is invalid')],
      [6, 'jobs.a.timeout', expect.stringContaining('"xyz" is not a duration')],
      [7, 'jobs.a.timezone', expect.stringContaining('unknown time zone "Mars/Olympus"')],
      [9, 'jobs.b.handler', 'handler command needs a `command: { run }` block'],
      [10, 'jobs.b.http', '`http` options given but the handler is "command"'],
      [11, 'jobs.b.retries.jitter', 'unknown key "jitter"'],
      [11, 'jobs.b.retries.cap', '`retries.cap` must be at most 366d'],
    ]);
    expect(() => parseJobsFile(text, 'jobs.yaml')).toThrow(
      /jobs\.yaml is invalid \(7 errors\):\n {2}jobs\.yaml:5:\d+ jobs\.a\.schedule: cron/,
    );
  });

  it('a malformed block is still a block: its own errors only, no "needs a block" on top', () => {
    const errors = errorsOf(`jobs:
  h:
    handler: http
    http: { method: FETCH }
    every: 1500ms
`);
    expect(errors.map((e) => [e.line, e.path, e.message])).toEqual([
      [4, 'jobs.h.http.url', expect.any(String)],
      [4, 'jobs.h.http.method', expect.any(String)],
      [5, 'jobs.h.every', expect.stringContaining('whole number of seconds')],
    ]);
  });

  it('a missing handler is reported with the rest of the job; a job that is not a mapping only once', () => {
    const errors = errorsOf(`jobs:
  nohandler:
    schedule: "* * *"
    bar: true
  scalar: 5
`);
    expect(errors.map((e) => [e.line, e.path, e.message])).toEqual([
      [3, 'jobs.nohandler.handler', expect.stringContaining('expected string')],
      [3, 'jobs.nohandler.schedule', expect.stringContaining('3 fields')],
      [4, 'jobs.nohandler.bar', 'unknown key "bar"'],
      [5, 'jobs.scalar', expect.stringContaining('expected object')],
    ]);
  });
});
