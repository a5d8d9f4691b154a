import { type FSWatcher, watch } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { errorMessage } from '../errors/error-message.js';

export interface FileWatch {
  stop(): void;
}

/**
 * Calls `onChange` (debounced) when `file` changes. Watches the directory, because editors and ConfigMap
 * updates replace a file rather than write it in place. A watch that cannot start is logged, not fatal:
 * SIGHUP still reloads.
 */
export function watchFile(file: string, onChange: () => void, log: Logger, debounceMs = 200): FileWatch {
  const dir = path.dirname(path.resolve(file));
  const base = path.basename(file);
  let debounce: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, (_event, name) => {
      if (name !== null && name !== base) return;
      clearTimeout(debounce);
      debounce = setTimeout(onChange, debounceMs);
    });
    watcher.on('error', (err) => log.warn({ err, file }, 'file watch failed'));
  } catch (err) {
    log.warn({ err, file }, 'cannot watch the file; reload with SIGHUP');
  }
  return {
    stop: () => {
      clearTimeout(debounce);
      watcher?.close();
    },
  };
}

/** Where a reloaded jobs file stands: the version in use, and whether the file on disk was rejected since. */
export interface JobsFileStatus {
  /** The file as configured (VIGIL_JOBS_FILE). */
  file: string;
  /** When the version in use was loaded (ISO 8601). */
  loadedAt: string;
  /** Only while the file on disk is invalid: when it was last rejected and why (one line per error). */
  rejected?: { at: string; errors: string[] };
}

const isProblem = (p: unknown): p is { line: number; column: number; path?: string; message: string } =>
  typeof p === 'object' &&
  p !== null &&
  typeof (p as { line?: unknown }).line === 'number' &&
  typeof (p as { message?: unknown }).message === 'string';

/**
 * The errors of a rejected jobs file, one line each (`line 5:3 jobs.a.schedule: …`): the parser's problems with
 * where they are, else the error's first line (e.g. the file does not exist).
 */
export function jobsFileErrors(err: unknown): string[] {
  const listed = (err as { details?: { errors?: unknown } } | undefined)?.details?.errors;
  if (Array.isArray(listed) && listed.length > 0 && listed.every(isProblem)) {
    return listed.map((p) => `line ${p.line}:${p.column} ${p.path ? `${p.path}: ` : ''}${p.message}`);
  }
  const message = errorMessage(err);
  return [message.split('\n')[0] || 'unreadable'];
}

/**
 * The one-line problem a rejected reload is while it lasts (system health lists it), or undefined when the file
 * on disk is the valid one in use: `jobs file <path> rejected at <time>: <first error> (+N more); running the
 * version loaded at <time>`.
 */
export function jobsFileProblem(status: JobsFileStatus): string | undefined {
  const r = status.rejected;
  if (!r) return undefined;
  const more = r.errors.length > 1 ? ` (+${r.errors.length - 1} more)` : '';
  return `jobs file ${status.file} rejected at ${r.at}: ${r.errors[0] ?? 'invalid'}${more}; running the version loaded at ${status.loadedAt}`;
}

/**
 * Keeps a reloading service's JobsFileStatus: `loaded` after every valid read (a changed file is the version in
 * use from now on; an unchanged one only ends a rejection), `rejected` after an invalid one. A bad edit then
 * shows in health answers, not only in a log line, until a valid version is read.
 */
export class JobsFileState {
  private loadedAt: number;
  private rejection?: { at: number; errors: string[] };

  constructor(
    readonly file: string,
    private readonly now: () => number = Date.now,
  ) {
    this.loadedAt = now();
  }

  loaded(changed: boolean): void {
    if (changed) this.loadedAt = this.now();
    this.rejection = undefined;
  }

  rejected(err: unknown): void {
    this.rejection = { at: this.now(), errors: jobsFileErrors(err) };
  }

  status(): JobsFileStatus {
    const out: JobsFileStatus = { file: this.file, loadedAt: new Date(this.loadedAt).toISOString() };
    if (this.rejection)
      out.rejected = { at: new Date(this.rejection.at).toISOString(), errors: [...this.rejection.errors] };
    return out;
  }

  problem(): string | undefined {
    return jobsFileProblem(this.status());
  }
}
