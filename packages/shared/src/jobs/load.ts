import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ErrorCode } from '../errors/codes.js';
import { ValidationError } from '../errors/vigil-error.js';
import { type ParseJobsOptions, parseJobsFile } from './parse.js';
import type { JobsFile } from './types.js';

/** Reads and validates a jobs file; errors name the file and every bad line. */
export async function loadJobsFile(path: string, opts: ParseJobsOptions = {}): Promise<JobsFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'EACCES' && code !== 'EISDIR' && code !== 'ENOTDIR') throw err;
    // A configuration mistake, said as one: which file was looked for, and where a relative path points.
    const why = code === 'EACCES' ? 'is not readable' : code === 'EISDIR' ? 'is a directory' : 'does not exist';
    throw new ValidationError(
      `jobs file ${resolve(path)} ${why} (VIGIL_JOBS_FILE=${path}; a relative path resolves from the working directory ${process.cwd()})`,
      { code: ErrorCode.CONFIG, cause: err },
    );
  }
  return parseJobsFile(text, path, opts);
}
