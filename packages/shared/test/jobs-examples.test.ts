import { fileURLToPath } from 'node:url';
import { loadJobsFile, ValidationError } from '@vigil/shared';
import { describe, expect, it } from 'vitest';

describe('examples/jobs.yaml (the npm start demo)', () => {
  it('is a valid jobs file with an http, a command, a report and a health job', async () => {
    const file = await loadJobsFile(fileURLToPath(new URL('../../../examples/jobs.yaml', import.meta.url)));
    const handlers = Object.values(file.jobs).map((j) => j.handler);
    expect(handlers).toEqual(expect.arrayContaining(['http', 'command', 'report.daily', 'health.daily']));
    expect(file.jobs['daily-reports'].targets).toEqual(['acme', 'globex', 'initech']);
  });

  it('a missing file is a configuration error naming the path it looked for', async () => {
    await expect(loadJobsFile('/nonexistent/jobs.yaml')).rejects.toThrow(
      /jobs file \/nonexistent\/jobs\.yaml does not exist \(VIGIL_JOBS_FILE=\/nonexistent\/jobs\.yaml/,
    );
    await expect(loadJobsFile('/nonexistent/jobs.yaml')).rejects.toMatchObject({ code: 'VIGIL_E_CONFIG' });
    await expect(loadJobsFile('/nonexistent/jobs.yaml')).rejects.toBeInstanceOf(ValidationError);
  });
});
