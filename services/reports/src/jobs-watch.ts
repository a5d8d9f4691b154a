import { type FileWatch, type JobDefinition, loadJobsFile, type Logger, watchFile } from '@vigil/shared';

/**
 * The runner's view of the jobs file. A change on disk swaps it in when valid (a bad edit is logged, the
 * old jobs keep running), so a job the scheduler just learned about is not failed as unknown here.
 */
export class JobsWatch {
  private jobs: Map<string, JobDefinition>;
  private watch?: FileWatch;
  private lastReload = 0;
  private pending?: Promise<void>;

  constructor(
    private readonly file: string,
    initial: Record<string, JobDefinition>,
    private readonly log: Logger,
  ) {
    this.jobs = new Map(Object.entries(initial));
  }

  get(): Map<string, JobDefinition> {
    return this.jobs;
  }

  async reload(why: string): Promise<void> {
    this.lastReload = Date.now();
    try {
      const next = await loadJobsFile(this.file);
      this.jobs = new Map(Object.entries(next.jobs));
      this.log.info({ file: this.file, why, jobs: this.jobs.size }, 'jobs file reloaded');
    } catch (err) {
      this.log.error({ err, file: this.file, why }, 'jobs file reload rejected; keeping the previous jobs');
    }
  }

  /**
   * For a request naming a job we do not know: re-read the file (concurrent callers share one read, reads
   * are at least 250 ms apart so an edit in progress settles) and look again.
   */
  /** The job's definition at once when known (the per-run path), else the result of `lookup`. */
  find(name: string): JobDefinition | undefined | Promise<JobDefinition | undefined> {
    return this.jobs.get(name) ?? this.lookup(name);
  }

  async lookup(name: string): Promise<JobDefinition | undefined> {
    const def = this.jobs.get(name);
    if (def) return def;
    this.pending ??= (async () => {
      const wait = 250 - (Date.now() - this.lastReload);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await this.reload(`unknown job ${name}`);
    })().finally(() => {
      this.pending = undefined;
    });
    await this.pending;
    return this.jobs.get(name);
  }

  start(): void {
    this.watch = watchFile(this.file, () => void this.reload('file changed'), this.log);
  }

  stop(): void {
    this.watch?.stop();
  }
}
