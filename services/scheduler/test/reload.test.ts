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
    // give the watcher time to see (and reject) it, then prove the old jobs still run
    await new Promise((r) => setTimeout(r, 600));
    expect(await names()).toEqual(['added', 'keep']);
    await h.clock.set(new Date('2026-05-01T06:10:00Z').getTime());
    await waitFor(() => h.events.of('job.requested.added').length >= 2);
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
