import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ErrorCode, type JobsFileProblem, loadJobsFile, ValidationError } from '@vigil/shared';
import { describe, expect, it } from 'vitest';

/** A jobs file on disk, loaded as `vigil check` and the services load it: the error message a user reads. */
async function rejection(text: string): Promise<{ message: string; errors: JobsFileProblem[]; file: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-test-yaml-'));
  const file = path.join(dir, 'jobs.yaml');
  writeFileSync(file, text);
  const err = await loadJobsFile(file).then(
    () => {
      throw new Error('expected the file to be rejected');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ValidationError);
  expect((err as ValidationError).code).toBe(ErrorCode.JOBS_FILE_INVALID);
  return {
    message: (err as ValidationError).message,
    errors: (err as ValidationError).details?.errors as JobsFileProblem[],
    file,
  };
}

describe('YAML syntax errors are reported at their own line and column, not 1:1', () => {
  it('a bad indentation on line 5 points at the mis-indented key', async () => {
    const { message, errors, file } = await rejection(`jobs:
  nightly:
    schedule: "0 6 * * *"
    handler: health.daily
   timeout: 5m
`);
    expect(errors[0]).toMatchObject({ line: 5, column: 4 });
    expect(message).toContain(`${file}:5:4 All mapping items must start at the same column`);
    expect(message).not.toContain(`${file}:1:1`);
  });

  it('an unclosed [ on line 6 points at the [ itself, also when more jobs follow', async () => {
    const text = `jobs:
  daily:
    schedule: "0 6 * * *"
    handler: report.daily
    timeout: 5m
    targets: [acme, globex
`;
    const alone = await rejection(text);
    expect(alone.errors).toEqual([expect.objectContaining({ line: 6, column: 14 })]);
    expect(alone.message).toContain(`${alone.file}:6:14 "[" is never closed`);
    const followed = await rejection(`${text}  other:\n    every: 1m\n    handler: health.daily\n`);
    expect(followed.errors[0]).toMatchObject({ line: 6, column: 14 });
    expect(followed.message).not.toContain(':1:1 ');
  });

  it('an unclosed { points at the {; an unclosed quote at where yaml found it (not line 1)', async () => {
    const map = await rejection(`jobs:
  a:
    every: 1m
    handler: health.daily
    alerts: { recipients: [ops@example.com], secret: alert-recipients
`);
    expect(map.errors[0]).toMatchObject({ line: 5, column: 13 });
    expect(map.message).toContain(`${map.file}:5:13 "{" is never closed`);
    const quote = await rejection(`jobs:\n  a:\n    every: 1m\n    schedule: "0 6 * * *\n    handler: health.daily\n`);
    expect(quote.errors[0].line).toBeGreaterThanOrEqual(4);
    expect(quote.message).toMatch(/jobs\.yaml:[4-6]:\d+ Missing closing "quote/);
  });

  it('a closed flow list next to a bad indent is not blamed', async () => {
    const { errors } = await rejection(`jobs:
  a:
    targets: [acme, globex]
    handler: report.daily
      every: 1m
`);
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) {
      expect(e.line).toBeGreaterThanOrEqual(4);
      expect(e.message).not.toContain('never closed');
    }
  });
});
