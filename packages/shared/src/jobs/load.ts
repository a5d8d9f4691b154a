import { readFile } from 'node:fs/promises';
import { parseJobsFile } from './parse.js';
import type { JobsFile } from './types.js';

/** Reads and validates a jobs file; errors name the file and every bad line. */
export async function loadJobsFile(path: string): Promise<JobsFile> {
  const text = await readFile(path, 'utf8');
  return parseJobsFile(text, path);
}
