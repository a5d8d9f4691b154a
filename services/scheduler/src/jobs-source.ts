import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { type JobsFile, loadJobsFile, type Logger } from '@vigil/shared';

/**
 * The current jobs file. A reload (SIGHUP or a change on disk) swaps it in only when the new file is valid;
 * a bad file is logged with every error and the old jobs keep running.
 */
export class JobsSource {
  private current: JobsFile;
  private watcher?: FSWatcher;
  private debounce?: NodeJS.Timeout;
  private listeners: ((file: JobsFile) => void)[] = [];

  private constructor(
    private readonly file: string,
    initial: JobsFile,
    private readonly log: Logger,
  ) {
    this.current = initial;
  }

  /** Throws the ValidationError (every error with its line) when the file is bad: the service must not start. */
  static async load(file: string, log: Logger): Promise<JobsSource> {
    return new JobsSource(file, await loadJobsFile(file), log);
  }

  get(): JobsFile {
    return this.current;
  }

  onChange(fn: (file: JobsFile) => void): void {
    this.listeners.push(fn);
  }

  async reload(why: string): Promise<boolean> {
    try {
      const next = await loadJobsFile(this.file);
      if (JSON.stringify(next) === JSON.stringify(this.current)) return false;
      this.current = next;
      this.log.info({ file: this.file, why, jobs: Object.keys(next.jobs).length }, 'jobs file reloaded');
      for (const fn of this.listeners) fn(next);
      return true;
    } catch (err) {
      this.log.error({ err, file: this.file, why }, 'jobs file reload rejected; keeping the previous jobs');
      return false;
    }
  }

  /** Watches the directory (editors replace files rather than write them in place). */
  watchFile(): void {
    const dir = path.dirname(path.resolve(this.file));
    const base = path.basename(this.file);
    try {
      this.watcher = watch(dir, (_event, name) => {
        if (name !== null && name !== base) return;
        clearTimeout(this.debounce);
        this.debounce = setTimeout(() => void this.reload('file changed'), 200);
      });
      this.watcher.on('error', (err) => this.log.warn({ err }, 'jobs file watch failed'));
    } catch (err) {
      this.log.warn({ err, file: this.file }, 'cannot watch the jobs file; reload with SIGHUP');
    }
  }

  stop(): void {
    clearTimeout(this.debounce);
    this.watcher?.close();
  }
}
