import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { JobsFileState, jobsFileErrors, loadJobsFile } from '@vigil/shared';
import { describe, expect, it } from 'vitest';

const rejectionOf = (file: string) =>
  loadJobsFile(file).then(
    () => {
      throw new Error('expected the file to be rejected');
    },
    (e: unknown) => e,
  );

/** What a service that reloads its jobs file says about a rejected edit (system health lists it). */
describe('JobsFileState: a rejected reload is a problem until a valid version is read', () => {
  it('names the file, when, the first error with its line (+N more) and the version still in use', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vigil-test-reload-'));
    const file = path.join(dir, 'jobs.yaml');
    let now = Date.parse('2026-05-01T05:00:00Z');
    const state = new JobsFileState(file, () => now);
    expect(state.problem()).toBeUndefined();
    expect(state.status()).toEqual({ file, loadedAt: '2026-05-01T05:00:00.000Z' });

    writeFileSync(file, 'jobs:\n  a:\n    handler: ftp\n  b:\n    handler: http\n    every: 1m\n');
    now = Date.parse('2026-05-01T06:30:00Z');
    state.rejected(await rejectionOf(file));
    expect(state.problem()).toBe(
      `jobs file ${file} rejected at 2026-05-01T06:30:00.000Z: line 3:14 jobs.a.handler: unknown handler "ftp" (use http | command | module:<path> | report.daily | health.daily)` +
        ' (+1 more); running the version loaded at 2026-05-01T05:00:00.000Z',
    );
    expect(state.status().rejected?.errors).toHaveLength(2);

    // a file that cannot be read at all: its one line
    state.rejected(await rejectionOf(path.join(dir, 'gone.yaml')));
    expect(state.problem()).toMatch(/rejected at .*: jobs file .*gone\.yaml does not exist .*; running the version/);

    // valid again but the same as in use: no problem, the load time stays; a changed version is a new load
    now = Date.parse('2026-05-01T07:00:00Z');
    state.loaded(false);
    expect(state.status()).toEqual({ file, loadedAt: '2026-05-01T05:00:00.000Z' });
    state.loaded(true);
    expect(state.status()).toEqual({ file, loadedAt: '2026-05-01T07:00:00.000Z' });
  });

  it('jobsFileErrors: one line per problem, or the first line of any other error', () => {
    expect(jobsFileErrors(new Error('boom\nstack'))).toEqual(['boom']);
    expect(jobsFileErrors('text')).toEqual(['text']);
  });
});
