import { existsSync } from 'node:fs';
import { loadJobsFile, type Logger } from '@vigil/shared';
import { parseNameList, secretNamesFromJobs } from './secret-names.js';

/**
 * What to warm: SECRET_NAMES when set, else every secret the jobs file references (re-read each cycle, so
 * a new job's secrets are warmed without a restart). A missing or broken jobs file warms nothing.
 */
export function warmNamesSource(opts: {
  secretNames?: string;
  jobsFile: string;
  log: Logger;
}): () => Promise<string[]> {
  const fixed = parseNameList(opts.secretNames);
  if (fixed.length > 0) return async () => fixed;
  let warned = false;
  return async () => {
    if (!existsSync(opts.jobsFile)) return [];
    try {
      const names = secretNamesFromJobs(await loadJobsFile(opts.jobsFile));
      warned = false;
      return names;
    } catch (err) {
      if (!warned) opts.log.warn({ err, file: opts.jobsFile }, 'jobs file unreadable — no secrets to warm from it');
      warned = true;
      return [];
    }
  };
}
