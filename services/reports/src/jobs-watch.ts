import { type FSWatcher, watch } from 'node:fs';
import path from 'node:path';
import { type JobDefinition, loadJobsFile, type Logger } from '@vigil/shared';

/**
 * The runner's view of the jobs file. A change on disk swaps it in when valid (a bad edit is logged, the
 * old jobs keep running), so a job the scheduler just learned about is not failed as unknown here.
 */
export class JobsWatch {
  private jobs: Map<string, JobDefinition>;
  private watcher?: FSWatcher;
  private debounce?: NodeJS.Timeout;
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
    const dir = path.dirname(this.file);
    const base = path.basename(this.file);
    try {
      this.watcher = watch(dir, (_event, name) => {
        if (name !== null && name !== base) return;
        clearTimeout(this.debounce);
        this.debounce = setTimeout(() => void this.reload('file changed'), 200);
      });
      this.watcher.on('error', (err) => this.log.warn({ err }, 'jobs file watch failed'));
    } catch (err) {
      this.log.warn({ err, file: this.file }, 'cannot watch the jobs file');
    }
  }

  stop(): void {
    clearTimeout(this.debounce);
    this.watcher?.close();
  }
}
