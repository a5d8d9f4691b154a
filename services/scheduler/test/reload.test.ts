import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startSchedulerService } from '../src/service.js';
import { waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

const V1 = `jobs:
  keep:
    schedule: "0 6 * * *"
    handler: health.daily
`;
const V2 = `${V1}  added:
    every: 10m
    handler: health.daily
`;

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('jobs file reload', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(V1, '2026-05-01T05:00:00Z', { VIGIL_JOBS_WATCH: 'true' });
  });
  afterAll(async () => {
    await h?.stop();
  });
  const names = async () => (await h.api('GET', '/api/jobs')).body.jobs.map((j: { name: string }) => j.name).sort();

  it('a changed file is picked up without dropping the schedules it keeps', async () => {
    writeFileSync(h.jobsFile, V2);
    await waitFor(async () => (await names()).length === 2);
    expect(await names()).toEqual(['added', 'keep']);
    await h.clock.set(new Date('2026-05-01T06:00:00Z').getTime());
    await h.events.waitFor('job.requested.keep');
    await h.events.waitFor('job.requested.added');
  });

  it('a bad file is rejected and the running jobs stay', async () => {
    writeFileSync(h.jobsFile, `jobs:\n  keep:\n    schedule: "not cron"\n    handler: health.daily\n`);
    // the watcher rejects it: system health says so (until now only a log line did)
    await waitFor(async () => (await h.api('GET', '/api/system/health')).body.jobsFile?.rejected !== undefined);
    expect(await names()).toEqual(['added', 'keep']);
    await h.clock.set(new Date('2026-05-01T06:10:00Z').getTime());
    await waitFor(() => h.events.of('job.requested.added').length >= 2);
  });

  it('a rejected edit is a system-health problem (not a readiness failure) until a valid version loads', async () => {
    const health = await h.api('GET', '/api/system/health');
    const problem = (health.body.problems as string[]).find((p) => p.startsWith('jobs file '));
    // the edit above was rejected at 06:00 (the clock then); the version in use loaded at 05:00 (V2's reload)
    expect(problem).toMatch(
      new RegExp(
        `^jobs file ${escapeRe(h.jobsFile)} rejected at 2026-05-01T06:00:00\\.000Z: line 3:15 jobs\\.keep\\.schedule: .+; running the version loaded at 2026-05-01T05:00:00\\.000Z$`,
      ),
    );
    expect(health.body).toMatchObject({
      ok: false,
      jobsFile: {
        file: h.jobsFile,
        rejected: { at: '2026-05-01T06:00:00.000Z', errors: [expect.stringMatching(/^line 3:15 /)] },
      },
    });
    // `vigil jobs` reads the same through GET /api/jobs; the old jobs run fine, so the scheduler stays ready
    expect((await h.api('GET', '/api/jobs')).body.jobsFile).toMatchObject({ problem });
    expect((await h.api('GET', '/health/ready', undefined, null)).status).toBe(200);

    // two errors: the first is said, the rest counted
    writeFileSync(h.jobsFile, `jobs:\n  keep:\n    schedule: "not cron"\n    handler: ftp\n`);
    await waitFor(async () => {
      const r = await h.api('GET', '/api/system/health');
      return (r.body.problems as string[]).some((p) => /: line 3:15 .* \(\+1 more\); running the version/.test(p));
    });

    // fixed (here: back to the version in use): the problem is gone, the load time is the old one
    writeFileSync(h.jobsFile, V2);
    const fixed = await waitFor(async () => {
      const r = await h.api('GET', '/api/system/health');
      return r.body.jobsFile && !r.body.jobsFile.rejected ? r.body : undefined;
    });
    expect(fixed.problems.filter((p: string) => p.startsWith('jobs file '))).toEqual([]);
    expect(fixed.jobsFile).toEqual({ file: h.jobsFile, loadedAt: '2026-05-01T05:00:00.000Z' });
    expect((await h.api('GET', '/api/jobs')).body.jobsFile).toEqual(fixed.jobsFile);
  });

  it('a bad file at start stops the service with every error and its line', async () => {
    const bad = path.join(path.dirname(h.jobsFile), 'bad.yaml');
    writeFileSync(bad, 'jobs:\n  a:\n    handler: ftp\n  b:\n    handler: http\n    every: 1m\n');
    await expect(
      startSchedulerService({ env: { ...h.env, VIGIL_JOBS_FILE: bad, LOG_LEVEL: 'silent' }, handleSignals: false }),
    ).rejects.toThrow(
      /bad\.yaml:3:\d+ jobs\.a\.handler: unknown handler "ftp"[\s\S]*bad\.yaml:5:\d+ jobs\.b\.handler: handler http needs/,
    );
  });
});
