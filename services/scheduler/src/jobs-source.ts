import {
  type FileWatch,
  type JobsFile,
  JobsFileState,
  type JobsFileStatus,
  loadJobsFile,
  type Logger,
  watchFile,
} from '@vigil/shared';

/**
 * The current jobs file. A reload (SIGHUP or a change on disk) swaps it in only when the new file is valid;
 * a bad file is logged with every error, the old jobs keep running, and `status()` says so (system health lists
 * it as a problem) until a valid version is read.
 */
export class JobsSource {
  private current: JobsFile;
  private watch?: FileWatch;
  private listeners: ((file: JobsFile) => void)[] = [];
  private readonly state: JobsFileState;

  private constructor(
    private readonly file: string,
    initial: JobsFile,
    private readonly log: Logger,
    now: () => number,
  ) {
    this.current = initial;
    this.state = new JobsFileState(file, now);
  }

  /**
   * Throws the ValidationError (every error with its line) when the file is bad: the service must not start.
   * `now` dates the loads and rejections status() reports (the service's clock).
   */
  static async load(file: string, log: Logger, now: () => number = Date.now): Promise<JobsSource> {
    return new JobsSource(file, await loadJobsFile(file), log, now);
  }

  get(): JobsFile {
    return this.current;
  }

  /** Which version runs, and whether the file on disk was rejected since it loaded. */
  status(): JobsFileStatus {
    return this.state.status();
  }

  /** The rejected reload as one line while the file on disk is invalid (see jobsFileProblem), else undefined. */
  problem(): string | undefined {
    return this.state.problem();
  }

  onChange(fn: (file: JobsFile) => void): void {
    this.listeners.push(fn);
  }

  async reload(why: string): Promise<boolean> {
    let next: JobsFile;
    try {
      next = await loadJobsFile(this.file);
    } catch (err) {
      this.state.rejected(err);
      this.log.error({ err, file: this.file, why }, 'jobs file reload rejected; keeping the previous jobs');
      return false;
    }
    const changed = JSON.stringify(next) !== JSON.stringify(this.current);
    // valid again (even unchanged, e.g. the bad edit reverted): the rejection is over
    this.state.loaded(changed);
    if (!changed) return false;
    this.current = next;
    this.log.info({ file: this.file, why, jobs: Object.keys(next.jobs).length }, 'jobs file reloaded');
    for (const fn of this.listeners) fn(next);
    return true;
  }

  /** Reloads on every change on disk (see watchFile for why the directory is watched). */
  watchFile(): void {
    this.watch = watchFile(this.file, () => void this.reload('file changed'), this.log);
  }

  stop(): void {
    this.watch?.stop();
  }
}
