import { type FileWatch, type JobsFile, loadJobsFile, type Logger, watchFile } from '@vigil/shared';

/**
 * The current jobs file. A reload (SIGHUP or a change on disk) swaps it in only when the new file is valid;
 * a bad file is logged with every error and the old jobs keep running.
 */
export class JobsSource {
  private current: JobsFile;
  private watch?: FileWatch;
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

  /** Reloads on every change on disk (see watchFile for why the directory is watched). */
  watchFile(): void {
    this.watch = watchFile(this.file, () => void this.reload('file changed'), this.log);
  }

  stop(): void {
    this.watch?.stop();
  }
}
